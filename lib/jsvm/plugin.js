'use strict'

// JsvmPlugin: PocketBase-style hook files (`*.pb.js`) run by a pool of
// QuickJS runtimes on Rust threads. Hook routes are answered in Rust +
// QuickJS inside the engine's native plugin layers; Node's JavaScript is
// never called for them. `engine.jsvm` bridges custom events both ways.

const binding = require('../native')
const { PluginPriority } = require('../priority')
const { hookLayers } = require('../chains')
const { callListener, eventDrainer } = require('../listeners')
const { internalsOf } = require('../engine-internals')

const JSVM = Symbol.for('nebula.jsvm')

class Jsvm {
  constructor() {
    this._native = undefined
    this._listeners = new Map() // name -> [fn]
  }

  _attach(native) {
    this._native = native
  }

  _need() {
    if (!this._native) throw new Error('engine.jsvm is available once the engine has started (the hooks are loaded at start)')
    return this._native
  }

  /** Sends a custom event to the scripts' `app.on(name, fn)` handlers. */
  emit(name, data) {
    if (typeof name !== 'string' || name === '') throw new TypeError('jsvm.emit(name, data) needs an event name')
    const json = JSON.stringify(data === undefined ? null : data)
    this._need().emit(name, json === undefined ? 'null' : json)
  }

  /** Receives the scripts' `events.emit(name, data)`. */
  on(name, fn) {
    if (typeof name !== 'string' || name === '') throw new TypeError('jsvm.on(name, fn) needs an event name')
    if (typeof fn !== 'function') throw new TypeError('jsvm.on(name, fn) needs a function')
    if (!this._listeners.has(name)) this._listeners.set(name, [])
    this._listeners.get(name).push(fn)
    return this
  }

  /** Rebuilds the runtimes from the hook files now; resolves to the new generation, rejects (keeping the old one) on a load error. */
  async reload() {
    return this._need().reload()
  }

  stats() {
    return JSON.parse(this._need().stats())
  }

  hooks() {
    return JSON.parse(this._need().hooks())
  }

  plugins() {
    return JSON.parse(this._need().plugins())
  }

  enablePlugin(id) {
    return this._need().setPluginEnabled(String(id), true)
  }

  disablePlugin(id) {
    return this._need().setPluginEnabled(String(id), false)
  }

  /** The function Rust calls when script events wait. Never throws. */
  _drainer() {
    return eventDrainer(
      () => this._native.takeEvents(),
      2,
      (name, json) => this._event(name, json),
      '[nebula jsvm]',
    )
  }

  _event(name, json) {
    const fns = this._listeners.get(name)
    if (!fns) return
    let data
    try {
      data = JSON.parse(json)
    } catch {
      data = null
    }
    for (const fn of fns) callListener(fn, [data], `[nebula jsvm] listener for "${name}"`)
  }
}

class JsvmPlugin {
  /** @param {import('../../index').JsvmPluginOptions} options checked in Rust: a TypeError names the option */
  constructor(options = /** @type {import('../../index').JsvmPluginOptions} */ ({})) {
    if (options === null || typeof options !== 'object') throw new TypeError('JsvmPlugin options must be an object')
    try {
      binding.checkJsvmOptions(options)
    } catch (err) {
      throw new TypeError(`JsvmPlugin: ${err.message.replace(/^jsvm: /, '')}`)
    }
    this.name = /** @type {const} */ ('jsvm')
    this.priority = PluginPriority.SYSTEM
    this.options = options
    this.jsvm = new Jsvm()
    this[JSVM] = this.jsvm
  }

  onInit(engine) {
    this._engine = engine
  }

  /** @param {import('../microservice').Microservice} engine */
  onBeforeStart(engine) {
    // The native layers every hook route runs inside: each native plugin's
    // layer for a route without module or route options, in priority order.
    const native = internalsOf(engine).loadedNative().attachJsvm(this.options, hookLayers(engine, this), this.jsvm._drainer())
    this.jsvm._attach(native)
  }

  /** Stops the VM also when the engine never listened (e.g. only engine.request() was used). */
  async onDestroy() {
    if (this.jsvm._native) await this.jsvm._native.shutdown()
  }
}

/** The script VM of an engine's JsvmPlugin, if it has one. */
function jsvmOf(plugins) {
  for (const p of plugins) if (p?.[JSVM]) return p[JSVM]
  return undefined
}

module.exports = { JsvmPlugin, Jsvm, jsvmOf }
