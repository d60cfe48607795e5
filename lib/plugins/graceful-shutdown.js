'use strict'

// GracefulShutdownPlugin: the JS face of the native "shutdown" plugin
// (crates/nebula-core/src/plugins/shutdown.rs). Its layer (outermost: SYSTEM) counts requests in
// flight and, once shutdown() began, answers new ones with 503 in Rust.
//
// shutdown() (also what SIGINT / SIGTERM do):
//   1. isShuttingDownNow() is true and new requests get 503 + Connection: close
//      (HTTP, in Rust) or reject with HttpError 503 (engine.handler() calls);
//      the server still listens, so clients are told rather than refused;
//   2. waits until the requests and calls in flight finished, at most
//      `shutdownTimeout` ms;
//   3. engine.stop(): closes the listener and connections (whatever is still
//      running gets the engine's own `shutdownTimeout` option), then onDestroy;
//   4. on the signal path only: process.exit(0).
// engine.stop() alone skips steps 1-2 (the listener closes at once).

const { PluginPriority } = require('../priority')
const { nativeLayer, nativeSpec } = require('../native-layer')
const { HttpError } = require('../errors')
const { logError } = require('../fault')
const { internalsOf } = require('../engine-internals')

const SIGNALS = ['SIGINT', 'SIGTERM']
const DEFAULT_TIMEOUT = 10 * 60 * 1000
// setTimeout's limit; longer waits are capped (about 24.8 days).
const MAX_TIMEOUT = 2 ** 31 - 1

class GracefulShutdownPlugin {
  /** @param {import('../../index').GracefulShutdownPluginOptions} [options] */
  constructor(options = {}) {
    const who = 'GracefulShutdownPlugin'
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(`${who}: options must be an object`)
    }
    for (const k of Object.keys(options)) {
      if (k !== 'shutdownTimeout' && k !== 'enabled') throw new TypeError(`${who}: unknown option ${JSON.stringify(k)}`)
    }
    const { shutdownTimeout = DEFAULT_TIMEOUT, enabled = true } = options
    if (!(typeof shutdownTimeout === 'number' && shutdownTimeout >= 0 && !Number.isNaN(shutdownTimeout))) {
      throw new TypeError(`${who}: shutdownTimeout must be a number of milliseconds >= 0`)
    }
    if (typeof enabled !== 'boolean') throw new TypeError(`${who}: enabled must be a boolean`)
    this.name = /** @type {const} */ ('graceful-shutdown-plugin')
    this.priority = PluginPriority.SYSTEM
    this.options = { shutdownTimeout: Math.min(shutdownTimeout, MAX_TIMEOUT), enabled }
    this._engine = undefined
    this._wrappers = []
    this._direct = 0
    this._idle = []
    this._shuttingDown = false
    this._shutdown = undefined
    this._signals = new Map()
    this._ownSignals = true
  }

  onInit(engine) {
    this._engine = engine
  }

  /** The layer a script-VM hook route gets: refused with 503 while shutting down. */
  hookLayer() {
    return this.options.enabled ? { kind: 'shutdown', pluginOptions: {}, layerOptions: {} } : undefined
  }

  onHandlerLoad(handlers) {
    this._wrappers = []
    if (!this.options.enabled) return
    // One layer per method chain (a method may carry several handler marks).
    const seen = new Map()
    for (const h of handlers) {
      if (!seen.has(h.module)) seen.set(h.module, new Set())
      if (seen.get(h.module).has(h.methodName)) continue
      seen.get(h.module).add(h.methodName)
      const w = nativeLayer(this, 'shutdown', {}, {}, { direct: (next) => this._runDirect(next) })
      h.wrap(w)
      this._wrappers.push(w)
    }
  }

  /**
   * Internal (the `nebula` CLI, which handles SIGINT / SIGTERM itself and calls
   * shutdown()): the plugin installs no signal handlers of its own.
   */
  _leaveSignalsToCaller() {
    this._ownSignals = false
    for (const [signal, listener] of this._signals) process.removeListener(signal, listener)
    this._signals.clear()
  }

  onAfterStart() {
    if (!this.options.enabled || !this._ownSignals || this._signals.size > 0) return
    for (const signal of SIGNALS) {
      const listener = () => this._onSignal(signal)
      process.on(signal, listener)
      this._signals.set(signal, listener)
    }
  }

  onDestroy() {
    for (const [signal, listener] of this._signals) process.removeListener(signal, listener)
    this._signals.clear()
    // Stopped: calls that still come (engine.handler()) are refused.
    this._beginShutdown().catch(() => {})
  }

  /** Requests in flight (HTTP and in-process, `engine.stats().inFlight`) plus `engine.handler()` calls in flight. */
  getActiveHandlersCount() {
    const inFlight = this._engine ? this._engine.stats().inFlight : 0
    return inFlight + this._direct
  }

  isShuttingDownNow() {
    return this._shuttingDown
  }

  /**
   * Refuses new requests (503), waits for those in flight (at most
   * `shutdownTimeout`), then stops the engine. Calling it again returns the
   * same promise.
   */
  shutdown() {
    if (this._shutdown) return this._shutdown
    const flagged = this._beginShutdown()
    const timeout = this.options.shutdownTimeout
    this._shutdown = (async () => {
      await flagged
      const rust = this._call('drain', { timeoutMs: timeout })
      await Promise.all([rust, this._directDrained(timeout)])
      if (this._engine) {
        // This plugin's timeout has passed (or nothing is in flight): stop() does not wait again, up to the
        // engine's own shutdownTimeout; what still runs is cut off.
        internalsOf(this._engine).stopGraceMs = 0
        await this._engine.stop()
      }
    })()
    return this._shutdown
  }

  /** Sets the flag here and in Rust (before returning: the next request already gets 503). */
  _beginShutdown() {
    this._shuttingDown = true
    return this._call('shutdown', {})
  }

  _onSignal(signal) {
    // Repeated signals (a process manager forwarding Ctrl+C, say) do not cut the drain short.
    if (this._signalled) return
    this._signalled = signal
    this.shutdown().then(
      () => process.exit(0),
      (err) => {
        logError(`[nebula] GracefulShutdownPlugin: shutdown after ${signal} failed:`, err)
        process.exit(1)
      },
    )
  }

  async _runDirect(next) {
    if (this._shuttingDown) throw new HttpError(503, 'Service is shutting down, new requests are not accepted')
    this._direct++
    try {
      return await next()
    } finally {
      if (--this._direct === 0) for (const wake of this._idle.splice(0)) wake()
    }
  }

  /** Resolves when no engine.handler() call is in flight, or after `timeout` ms. */
  _directDrained(timeout) {
    if (this._direct === 0) return Promise.resolve()
    return new Promise((/** @type {(v?: undefined) => void} */ resolve) => {
      const timer = setTimeout(done, timeout)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this._idle.push(done)
    })
  }

  /** An operation of the plugin's layers in Rust (they share one state). */
  _call(op, arg) {
    for (const w of this._wrappers) {
      const bound = nativeSpec(w).bound
      if (bound && bound.layer !== null) return bound.native.layerCall(bound.layer, op, arg)
    }
    // No module method (a config of gateway services only, say): the layer on the routes answered in Rust.
    if (this._engine) {
      const internals = internalsOf(this._engine)
      const hook = internals.hookLayers.find((h) => h.plugin === this)
      if (hook && internals.native) return internals.native.layerCall(hook.layer, op, arg)
    }
    return Promise.resolve(undefined)
  }
}

module.exports = { GracefulShutdownPlugin }
