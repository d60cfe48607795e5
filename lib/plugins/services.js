'use strict'

// ServicesPlugin: the gateway. Upstream services in any language run as
// supervised worker processes, each instance on a Unix socket of its own
// (NEBULA_SOCKET); requests matching a service's routes go through the
// engine's native layers (auth, rate limit, CORS, logging, metrics) and are
// forwarded in Rust to the least busy ready instance. Nothing of a proxied
// request runs in JavaScript.

const binding = require('../native')
const { PluginPriority } = require('../priority')
const { hookLayers } = require('../chains')
const { internalsOf } = require('../engine-internals')

class ServicesPlugin {
  /**
   * `new ServicesPlugin({ services: [{ name, command, routes, instances?, socket?, cwd?, env?,
   * healthPath?, timeoutMs?, stripPrefix?, … }], runtimeDir? })`
   * @param {import('../../index').ServicesPluginOptions} options checked in Rust: a TypeError names the field
   */
  constructor(options = /** @type {import('../../index').ServicesPluginOptions} */ ({})) {
    if (options === null || typeof options !== 'object') throw new TypeError('ServicesPlugin options must be an object')
    try {
      binding.checkServicesOptions(options)
    } catch (err) {
      throw new TypeError(`ServicesPlugin: ${err.message.replace(/^services: /, '')}`)
    }
    this.name = /** @type {const} */ ('services')
    this.priority = PluginPriority.SYSTEM
    this.options = options
    this._native = undefined
  }

  /** @param {import('../microservice').Microservice} engine */
  onBeforeStart(engine) {
    // The same native layers as any route, in priority order (outermost first).
    this._native = internalsOf(engine).loadedNative().attachServices(this.options, hookLayers(engine, this))
  }

  /** Stops the workers also when the engine never listened or failed to start. */
  async onDestroy() {
    if (this._native) await this._native.stop()
  }

  /** Every service with its instances: state (starting, ready, restarting, failed…), pid, restarts. */
  status() {
    if (!this._native) return { services: [] }
    return JSON.parse(this._native.status())
  }

  /**
   * Applies a new list of services while the engine serves: added services start (and are
   * waited for), removed ones leave the routes and stop, a service whose worker options changed
   * is replaced instance by instance (rolling, no failed request), route-only changes apply at
   * once. Invalid options reject and change nothing. Resolves to what happened, by service name:
   * `{ started, restarted, rerouted, stopped, unchanged, failed: [{ service, reason }] }`.
   */
  async update(services) {
    const options = { ...this.options, services }
    try {
      binding.checkServicesOptions(options)
    } catch (err) {
      throw new TypeError(`ServicesPlugin: ${err.message.replace(/^services: /, '')}`)
    }
    if (!this._native) {
      // Not attached yet: the engine starts with these.
      this.options = options
      return { started: [], restarted: [], rerouted: [], stopped: [], unchanged: [], failed: [] }
    }
    const summary = JSON.parse(await this._native.update(options))
    this.options = options
    return summary
  }

  /** Replaces a service's workers one by one: each new one is ready before the old one drains. */
  async restart(name) {
    if (!this._native) throw new Error('ServicesPlugin.restart() needs a started engine')
    return this._native.restart(String(name))
  }
}

module.exports = { ServicesPlugin }
