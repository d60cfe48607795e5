'use strict'

// Changing a native plugin's options while the engine serves
// (`plugin.reconfigure(options)`): the new options are checked by the plugin's
// own constructor, its layer options are planned again exactly as at start
// (onModuleLoad + onHandlerLoad on a fresh instance, with handlers whose
// wrap() only records), and Rust swaps every layer of the plugin at once.
// Nothing changes when any step fails.

const { nativeSpec } = require('./native-layer')
const { internalsOf } = require('./engine-internals')

/** The engine whose native layers a plugin object made (set when they are bound). */
const ENGINE = Symbol('nebula.engine')

function restartNeeded(plugin, why) {
  return new Error(`${plugin.constructor.name}: ${why}: restart to apply`)
}

/**
 * The new layer options of each layer `plugin` put on a handler, as [layerId, options].
 * @param {import('./engine-internals').EngineInternals} internals the engine's
 * @param {any} plugin
 * @param {any} fresh
 */
function plannedLayers(internals, plugin, fresh) {
  const captured = new Map()
  const handlers = internals.handlers.map((h) => {
    const chain = internals.chainOf(h)
    return Object.create(h, {
      wrap: {
        value(fn) {
          if (!captured.has(chain)) captured.set(chain, [])
          captured.get(chain).push(fn)
        },
      },
    })
  })
  if (typeof fresh.onModuleLoad === 'function' && internals.modules) fresh.onModuleLoad(internals.modules)
  if (typeof fresh.onHandlerLoad === 'function') {
    const out = fresh.onHandlerLoad(handlers)
    if (out && typeof out.then === 'function') throw restartNeeded(plugin, 'its handler hook is asynchronous')
  }
  const pairs = []
  for (const chain of internals.methods.values()) {
    const before = chain.wraps.filter((w) => w.native && nativeSpec(w.fn).plugin === plugin).map((w) => nativeSpec(w.fn))
    const after = (captured.get(chain) || []).map(nativeSpec).filter((s) => s && s.plugin === fresh)
    if (before.length !== after.length) {
      throw restartNeeded(plugin, `the new options change which layers ${String(chain.methodName)} has`)
    }
    before.forEach((old, i) => {
      // A handler that got no layer at start has none to swap.
      if (old.bound && old.bound.layer !== null) pairs.push([old, after[i]])
    })
  }
  return pairs
}

/**
 * Applies `options` to `plugin` (a native-backed plugin): before the engine
 * starts they are simply taken; while it serves, every route's layer changes
 * at once. Throws a TypeError naming the option when they are invalid, an
 * Error when they cannot apply without a restart; nothing changes then.
 * @param {any} plugin
 * @param {unknown} options
 */
function reconfigureNative(plugin, options) {
  const fresh = new plugin.constructor(options)
  const engine = plugin[ENGINE]
  const internals = engine && internalsOf(engine)
  const native = internals?.native
  const id = internals?.nativePlugins.get(plugin)
  if (!internals || !native || id === undefined) {
    plugin.options = fresh.options
    return
  }
  const pairs = plannedLayers(internals, plugin, fresh)
  const hooks = internals.hookLayers.filter((h) => h.plugin === plugin)
  const hookSpec = hooks.length > 0 ? fresh.hookLayer() : undefined
  const kind = pairs.length > 0 ? pairs[0][0].kind : hookSpec ? hookSpec.kind : undefined
  if (kind === undefined) {
    plugin.options = fresh.options
    return
  }
  const pluginOptions = pairs.length > 0 ? pairs[0][1].pluginOptions : hookSpec.pluginOptions
  const layers = [...pairs.map(([old]) => old.bound.layer), ...hooks.map((h) => h.layer)]
  const layerOptions = [...pairs.map(([, now]) => now.layerOptions), ...hooks.map(() => hookSpec.layerOptions)]
  try {
    native.reconfigurePlugin(id, kind, pluginOptions, layers, layerOptions)
  } catch (err) {
    throw new TypeError(`${plugin.constructor.name}: ${err.message}`, { cause: err })
  }
  for (const [old, now] of pairs) {
    old.pluginOptions = now.pluginOptions
    old.layerOptions = now.layerOptions
  }
  plugin.options = fresh.options
}

module.exports = { reconfigureNative, ENGINE }
