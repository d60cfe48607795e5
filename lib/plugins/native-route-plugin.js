'use strict'

// What the JS faces of the native route plugins (cors, compression,
// rate_limit, jwt, logger, metrics) have in common: options checked when the
// plugin is made, the modules remembered when they load, one native layer
// per route handler (or none), the layer a script-VM hook route or a gateway
// route gets, and reconfigure() while the engine serves.
//
// A subclass passes its name, priority, native kind and checked options to
// the constructor, and overrides what is its own:
//   layerOptions(h, module)   the layer options of route handler `h` (module:
//                             its module's metadata, or undefined); undefined: no layer
//   hookLayerOptions()        the layer options of a hook route (default: the plugin's options)
//   validateModule(options)   a module's options: true, or what is wrong with them

const { reconfigureNative } = require('../reconfigure')
const { nativeLayer } = require('../native-layer')

/** The options of a module (its metadata as onModuleLoad got it), `{}` when it has none. */
function moduleOptions(module) {
  return module?.options || {}
}

/**
 * A subclass names its types (`@extends {NativeRoutePlugin<'cors', 100, CorsOptions>}`), so that
 * its `name`, `priority` and `options` are typed as index.d.ts declares them.
 * @template {string} [Name=string]
 * @template {number} [Priority=number]
 * @template {{}} [Options={}]
 */
class NativeRoutePlugin {
  /**
   * @param {{ name: Name, priority: Priority, kind: string, options: Options }} spec
   *   `options` already checked by the subclass (its constructor throws first when they are invalid)
   */
  constructor({ name, priority, kind, options }) {
    this.options = options
    this.name = name
    this.priority = priority
    this._kind = kind
    this._modules = new Map()
  }

  getModuleOptionsSchema() {
    return { _type: {}, validate: (options) => this.validateModule(options) }
  }

  /**
   * A module's options: true, or what is wrong with them.
   * @param {any} _options
   * @returns {true | string}
   */
  validateModule(_options) {
    return true
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m]))
  }

  /** The layer a script-VM hook route (or a gateway route) gets: no module or route to read options from. */
  hookLayer() {
    return { kind: this._kind, pluginOptions: this.options, layerOptions: this.hookLayerOptions() }
  }

  /** @returns {{}} */
  hookLayerOptions() {
    return this.options
  }

  /**
   * @param {import('../../index').HandlerMetadata} _h
   * @param {import('../../index').ModuleMetadata | undefined} _module
   * @returns {{} | undefined}
   */
  layerOptions(_h, _module) {
    return this.options
  }

  onHandlerLoad(handlers) {
    for (const h of handlers) {
      // Actions (ActionPlugin) are HTTP routes too: CORS, JWT, rate limits and logs apply to them alike.
      if (h.type !== 'route' && h.type !== 'action') continue
      const layerOptions = this.layerOptions(h, this._modules.get(h.module))
      if (layerOptions === undefined) continue
      h.wrap(nativeLayer(this, this._kind, this.options, layerOptions))
    }
  }
}

/**
 * A native route plugin whose options may change while the engine serves.
 * @template {string} [Name=string]
 * @template {number} [Priority=number]
 * @template {{}} [Options={}]
 * @extends {NativeRoutePlugin<Name, Priority, Options>}
 */
class ReconfigurableNativeRoutePlugin extends NativeRoutePlugin {
  /**
   * New options while the engine serves: every route's layer changes at once (counters and
   * state start afresh). Throws a TypeError naming the option; nothing changes then.
   */
  reconfigure(options) {
    reconfigureNative(this, options)
  }
}

module.exports = { NativeRoutePlugin, ReconfigurableNativeRoutePlugin, moduleOptions }
