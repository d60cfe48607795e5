'use strict'

// Applying the planned chains: each module method's wrappers nest in the
// order Rust planned (src/engine/chain.rs); native layers get their Rust
// plugin and layer; over HTTP the native prefix is left to Rust.

const binding = require('./native')
const { composeWrappers } = require('./compose')
const { nativeSpec } = require('./native-layer')
const { ENGINE } = require('./reconfigure')

function applyChains(engine, specs) {
  const chains = [...engine._methods.values()]
  for (const c of chains) for (const w of c.wraps) if (w.native) bindNative(engine, w.fn)
  const plans = binding.planChains(
    specs,
    chains.map((c) => c.wraps.map((w) => ({ plugin: w.plugin, native: w.native }))),
  )
  chains.forEach((c, k) => {
    const order = plans[k].layers.map((i) => c.wraps[i].fn)
    const prefix = plans[k].nativePrefix
    const instance = engine._instances.get(c.clazz)
    const run = composeWrappers(order, c.method)
    // Over HTTP the native prefix already ran in Rust: the JS side runs the rest.
    // With no JS layer left, the method is called directly (its result may be
    // a plain value: the dispatcher then answers without a promise).
    const method = c.method
    c.httpRun =
      prefix === order.length
        ? (self, args) => method.apply(self, args)
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

/** Creates (once per plugin object) the Rust plugin, and the layer for this wrapper. */
function bindNative(engine, fn) {
  const spec = nativeSpec(fn)
  if (spec.bound) throw new Error(`a ${spec.kind} native layer was wrapped around two handlers; create one per handler`)
  const id = nativePluginId(engine, spec.plugin, spec.kind, spec.pluginOptions)
  let layer
  try {
    layer = engine._native.createLayer(id, spec.layerOptions)
  } catch (err) {
    throw new Error(`Plugin ${spec.plugin.name} has invalid route options: ${err.message}`, { cause: err })
  }
  spec.bound = { native: engine._native, layer: layer ?? null }
  spec.plugin[ENGINE] = engine
}

/** The Rust plugin behind a JS plugin object, created once per engine. */
function nativePluginId(engine, plugin, kind, options) {
  if (!engine._nativePlugins) engine._nativePlugins = new Map()
  let id = engine._nativePlugins.get(plugin)
  if (id === undefined) {
    try {
      id = engine._native.createPlugin(kind, options)
    } catch (err) {
      throw new Error(`Plugin ${plugin.name} has invalid options: ${err.message}`, { cause: err })
    }
    engine._nativePlugins.set(plugin, id)
  }
  return id
}

/**
 * The native layers every plugin of `engine` but `except` contributes to
 * routes answered in Rust (hook routes, the gateway's), outermost first.
 */
function hookLayers(engine, except) {
  const layers = []
  for (const [p] of engine._sorted) {
    if (p === except || typeof p.hookLayer !== 'function') continue
    const spec = p.hookLayer()
    if (!spec) continue
    const id = nativePluginId(engine, p, spec.kind, spec.pluginOptions)
    const layer = engine._native.createLayer(id, spec.layerOptions)
    if (layer !== null && layer !== undefined) {
      layers.push(layer)
      // Swapped too when the plugin's options change (plugin.reconfigure()).
      if (!engine._hookLayers) engine._hookLayers = []
      engine._hookLayers.push({ plugin: p, layer })
      p[ENGINE] = engine
    }
  }
  return layers
}

module.exports = { applyChains, nativePluginId, hookLayers }
