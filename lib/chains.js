'use strict'

// Applying the planned chains: each module method's wrappers nest in the
// order Rust planned (crates/nebula-core/src/engine/chain.rs); native layers get their Rust
// plugin and layer; over HTTP the native prefix is left to Rust.

const binding = require('./native')
const { composeWrappers } = require('./compose')
const { nativeSpec } = require('./native-layer')
const { ENGINE } = require('./reconfigure')
const { internalsOf } = require('./engine-internals')

/** @typedef {import('./microservice').Microservice} Microservice */

/**
 * @param {Microservice} engine
 * @param {import('../binding').JsPluginSpec[]} specs the plugins, in registration order
 */
function applyChains(engine, specs) {
  const { methods, instances } = internalsOf(engine)
  const chains = [...methods.values()]
  for (const c of chains) for (const w of c.wraps) if (w.native) bindNative(engine, w.fn)
  const plans = binding.planChains(
    specs,
    chains.map((c) => c.wraps.map((w) => ({ plugin: w.plugin, native: w.native }))),
  )
  chains.forEach((c, k) => {
    const order = plans[k].layers.map((i) => c.wraps[i].fn)
    const prefix = plans[k].nativePrefix
    const instance = /** @type {object} */ (instances.get(c.clazz))
    const run = composeWrappers(order, c.method)
    // Over HTTP the native prefix already ran in Rust: the JS side runs the rest.
    // With no JS layer left, the method is called directly (its result may be
    // a plain value: the dispatcher then answers without a promise).
    const method = c.method
    c.httpRun =
      prefix === order.length
        ? (/** @type {object} */ self, /** @type {unknown[]} */ args) => method.apply(self, args)
        : prefix === 0
          ? run
          : composeWrappers(order.slice(prefix), method)
    c.nativeLayers = order
      .slice(0, prefix)
      .map((fn) => nativeSpec(fn).bound.layer)
      .filter((id) => id !== null)
    // An own property of this engine's instance: the class prototype stays untouched.
    Object.defineProperty(instance, c.methodName, {
      value: function wrapped(...args) {
        return run(instance, args)
      },
      writable: true,
      configurable: true,
      enumerable: false,
    })
  })
}

/**
 * Creates (once per plugin object) the Rust plugin, and the layer for this wrapper.
 * @param {Microservice} engine
 * @param {Function} fn a wrapper made by nativeLayer()
 */
function bindNative(engine, fn) {
  const native = internalsOf(engine).loadedNative()
  const spec = nativeSpec(fn)
  if (spec.bound) throw new Error(`a ${spec.kind} native layer was wrapped around two handlers; create one per handler`)
  const id = nativePluginId(engine, spec.plugin, spec.kind, spec.pluginOptions)
  let layer
  try {
    layer = native.createLayer(id, spec.layerOptions)
  } catch (err) {
    throw new Error(`Plugin ${spec.plugin.name} has invalid route options: ${err.message}`, { cause: err })
  }
  spec.bound = { native, layer: layer ?? null }
  spec.plugin[ENGINE] = engine
}

/**
 * The Rust plugin behind a JS plugin object, created once per engine.
 * @param {Microservice} engine
 * @param {{ name: string }} plugin
 * @param {string} kind
 * @param {unknown} options
 */
function nativePluginId(engine, plugin, kind, options) {
  const internals = internalsOf(engine)
  let id = internals.nativePlugins.get(plugin)
  if (id === undefined) {
    try {
      id = internals.loadedNative().createPlugin(kind, options)
    } catch (err) {
      throw new Error(`Plugin ${plugin.name} has invalid options: ${err.message}`, { cause: err })
    }
    internals.nativePlugins.set(plugin, id)
  }
  return id
}

/**
 * The native layers every plugin of `engine` but `except` contributes to
 * routes answered in Rust (hook routes, the gateway's), outermost first.
 * @param {Microservice} engine
 * @param {object} except
 */
function hookLayers(engine, except) {
  const internals = internalsOf(engine)
  const native = internals.loadedNative()
  /** @type {number[]} */
  const layers = []
  for (const [p] of internals.sorted) {
    if (p === except || typeof p.hookLayer !== 'function') continue
    const spec = p.hookLayer()
    if (!spec) continue
    const id = nativePluginId(engine, p, spec.kind, spec.pluginOptions)
    const layer = native.createLayer(id, spec.layerOptions)
    if (layer !== null && layer !== undefined) {
      layers.push(layer)
      // Swapped too when the plugin's options change (plugin.reconfigure()).
      internals.hookLayers.push({ plugin: p, layer })
      p[ENGINE] = engine
    }
  }
  return layers
}

module.exports = { applyChains, nativePluginId, hookLayers }
