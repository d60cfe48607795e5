'use strict'

// HubPlugin: the WebSocket hub on the engine's own port. The hub itself runs
// in Rust; this plugin mounts it when the engine loads, exposes the server SDK
// as `engine.hub` and routes module methods marked `@WsHandler(type)` — with
// their full `handler.wrap()` chain — to the message types they name.

const binding = require('../native')
const { PluginPriority } = require('../priority')
const { Handler } = require('../decorators')
const { Hub, HubError } = require('./facade')
const { internalsOf } = require('../engine-internals')

const HUB = Symbol.for('nebula.hub')

/**
 * Marks a module method as the handler of WebSocket message type `type`:
 * `method(client, data, message)`. Options: `{ permission }` required of senders.
 */
function WsHandler(type, options = {}) {
  if (typeof type !== 'string' || type === '') throw new TypeError('@WsHandler(type) needs a message type')
  if (options === null || typeof options !== 'object') throw new TypeError('@WsHandler options must be an object')
  return Handler({ type: 'ws', options: { ...options, type } })
}

class HubPlugin {
  /** @param {import('../../index').HubPluginOptions} [options] checked in Rust: a TypeError names the option */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('HubPlugin options must be an object')
    try {
      binding.checkHubOptions(options)
    } catch (err) {
      throw new TypeError(`HubPlugin: ${err.message.replace(/^hub: /, '')}`)
    }
    this.name = /** @type {const} */ ('hub')
    this.priority = PluginPriority.SYSTEM
    this.options = options
    this.hub = new Hub()
    this[HUB] = this.hub
    /** @type {import('../microservice').Microservice | undefined} */
    this._engine = undefined
  }

  /** @param {import('../microservice').Microservice} engine */
  onInit(engine) {
    this._engine = engine
    const native = internalsOf(engine).loadedNative().attachHub(this.options, this.hub._drainer())
    this.hub._attach(native)
  }

  /** @param {import('../../index').HandlerMetadata[]} handlers */
  onHandlerLoad(handlers) {
    // Set by onInit, which runs first.
    const engine = /** @type {import('../microservice').Microservice} */ (this._engine)
    for (const h of handlers) {
      if (h.type !== 'ws') continue
      const { type, permission } = h.options
      // The instance method runs the handler's whole chain (plugins' wraps included).
      this.hub.on(type, (client, data, message) => engine.get(h.module)[h.methodName](client, data, message), { permission })
    }
  }
}

/** The hub of an engine's HubPlugin, if it has one. */
function hubOf(plugins) {
  for (const p of plugins) if (p?.[HUB]) return p[HUB]
  return undefined
}

module.exports = { HubPlugin, WsHandler, HubError, hubOf }
