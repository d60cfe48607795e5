'use strict'

// An engine's modules as it loads them: which @Module classes are its own,
// their options checked by each plugin's schema, one instance of each, and
// the handler metadata of their decorated methods (what onHandlerLoad gets,
// with `wrap()` adding to the method's chain).

const { collectHandlerMarks, modulesFor, moduleRegistry } = require('./decorators')
const { ModuleConfigValidationError } = require('./errors')
const { messageOf } = require('./fault')
const { nativeSpec } = require('./native-layer')
const { methodKey } = require('./engine-internals')

/** @typedef {import('../index').ModuleMetadata} ModuleMetadata */
/** @typedef {import('../index').HandlerMetadata} HandlerMetadata */
/** @typedef {import('./engine-internals').Plugin} Plugin */
/** @typedef {import('./engine-internals').MethodChain} MethodChain */

/**
 * The engine's modules: the classes given as the `modules` option, else every
 * class decorated with the Module of `key` (the exported one, or a Factory's).
 * @param {import('../index').MicroserviceOptions['modules']} classes
 * @param {symbol} key
 * @returns {readonly ModuleMetadata[]}
 */
function loadModules(classes, key) {
  let entries
  if (classes) {
    entries = classes.map((clazz) => {
      const entry = moduleRegistry.find((m) => m.clazz === clazz)
      if (!entry) throw new TypeError(`${clazz?.name || clazz} is not decorated with @Module`)
      return entry
    })
  } else {
    entries = modulesFor(key)
  }
  return entries.map((e) => Object.freeze({ name: e.name, clazz: e.clazz, options: e.options }))
}

/**
 * Each module's options as each plugin's schema sees them; the first refusal throws.
 * @param {readonly ModuleMetadata[]} modules
 * @param {Plugin[]} plugins
 */
function validateModules(modules, plugins) {
  for (const m of modules) {
    for (const p of plugins) {
      if (typeof p.getModuleOptionsSchema !== 'function') continue
      const schema = p.getModuleOptionsSchema()
      if (!schema || typeof schema.validate !== 'function') continue
      let verdict
      try {
        verdict = schema.validate(m.options)
      } catch (err) {
        verdict = messageOf(err)
      }
      if (verdict === true || verdict === undefined) continue
      const message = typeof verdict === 'string' ? verdict : 'options rejected by the plugin'
      throw new ModuleConfigValidationError(m.name, p.name, message)
    }
  }
}

/**
 * What `handler.wrap()` asks the engine: whether wrapping is still possible, and
 * which plugin wraps.
 * @typedef {object} WrapContext
 * @property {() => string} state the engine's lifecycle state (wrapping is possible while it is `loading`)
 * @property {() => number} plugin the registration index of the plugin whose hook runs now
 */

/**
 * Makes one instance of each module class and the handler metadata of its
 * decorated methods, into `internals` (instances, methods, handlers).
 * @param {readonly ModuleMetadata[]} modules
 * @param {import('./engine-internals').EngineInternals} internals
 * @param {WrapContext} context
 */
function collectHandlers(modules, internals, context) {
  const { instances, methods, handlers } = internals
  for (const m of modules) {
    if (instances.has(m.clazz)) continue
    instances.set(m.clazz, new m.clazz())
    for (const { methodName, method, marks } of collectHandlerMarks(m.clazz)) {
      /** @type {MethodChain} */
      const chain = { clazz: m.clazz, methodName, method, wraps: [] }
      methods.set(methodKey(m.clazz, methodName), chain)
      for (const mark of marks) handlers.push(handlerMetadata(m, chain, mark, context))
    }
  }
}

/**
 * @param {ModuleMetadata} mod
 * @param {MethodChain} chain
 * @param {{ type: string, options: unknown }} mark
 * @param {WrapContext} context
 * @returns {HandlerMetadata}
 */
function handlerMetadata(mod, chain, mark, context) {
  return Object.freeze({
    type: mark.type,
    options: mark.options,
    method: chain.method,
    methodName: chain.methodName,
    module: mod.clazz,
    /** @param {import('../index').HandlerWrapper} wrapper */
    wrap(wrapper) {
      if (typeof wrapper !== 'function') throw new TypeError('handler.wrap() expects a function (next, instance, ...args) => any')
      const state = context.state()
      if (state !== 'loading') {
        throw new Error(
          `handler.wrap() on ${String(chain.methodName)} came after the chains were applied (the engine is ${state}): wrap in onHandlerLoad of a plugin whose priority is not ROUTE`,
        )
      }
      chain.wraps.push({ fn: wrapper, plugin: context.plugin(), native: nativeSpec(wrapper) !== undefined })
    },
  })
}

module.exports = { loadModules, validateModules, collectHandlers }
