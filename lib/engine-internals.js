'use strict'

// What an engine shares with the parts of lib/ that build and drive it (the
// chain builder, plugin reconfiguration, the request drain, the hub, script VM
// and gateway plugins), and with nothing else: one object per engine, reached
// with `internalsOf(engine)`. Microservice keeps the rest of its state in
// private fields; no other module reads or writes an engine's fields.

/** @typedef {import('../binding').NativeEngine} NativeEngine */
/** @typedef {import('../index').HandlerMetadata} HandlerMetadata */
/** @typedef {import('../index').ModuleMetadata} ModuleMetadata */
/**
 * A plugin as the engine sees it: native-backed plugins (lib/native-layer.js) also
 * put a layer on the routes answered in Rust (hook routes, the gateway's).
 * @typedef {import('../index').Plugin & { hookLayer?: () => { kind: string, pluginOptions: unknown, layerOptions: unknown } | undefined }} Plugin
 */
/** @typedef {new (...args: any[]) => any} ModuleClass */

/**
 * A wrapper `handler.wrap()` added to a method's chain.
 * @typedef {object} Wrap
 * @property {Function} fn
 * @property {number} plugin registration index of the plugin that added it
 * @property {boolean} native made by nativeLayer(): a Rust layer
 */

/**
 * A module method and the wrappers around it.
 * @typedef {object} MethodChain
 * @property {ModuleClass} clazz
 * @property {string | symbol} methodName
 * @property {(...args: any[]) => unknown} method the original method
 * @property {Wrap[]} wraps in the order they were added
 * @property {(self: object, args: unknown[]) => unknown} [httpRun] the chain without
 *   its native prefix (which Rust runs): set when the chains are applied. Its result
 *   is a plain value when no JavaScript layer is left, else a promise.
 * @property {number[]} [nativeLayers] the Rust layers of the native prefix
 */

/**
 * A route added with `engine.addRoute()`: request `routeId` is answered by `handle`.
 * @typedef {object} RouteEntry
 * @property {(ctx: import('./context').Context) => unknown} handle
 * @property {HandlerMetadata | undefined} handler
 * @property {string} path
 * @property {Readonly<Record<string, unknown>> | undefined} [schemas] the JSON Schemas Rust checks, by part (`validate`)
 */

class EngineInternals {
  constructor() {
    /** @type {NativeEngine | undefined} the Rust engine, from the moment the engine loads */
    this.native = undefined
    /**
     * @type {number | undefined} at stop(), the most the requests in flight are given (ms; the shutdown
     * timeout when unset): GracefulShutdownPlugin sets 0 once its own drain timeout has passed
     */
    this.stopGraceMs = undefined
    /** @type {Map<object, number>} the Rust plugin behind each JS plugin object backed by one */
    this.nativePlugins = new Map()
    /** @type {{ plugin: object, layer: number }[]} layers plugins put on routes answered in Rust (hook and gateway routes) */
    this.hookLayers = []
    /** @type {Map<string, MethodChain>} every module method with a decorator, by `methodKey` */
    this.methods = new Map()
    /** @type {Map<Function, object>} the engine's instance of each module class */
    this.instances = new Map()
    /** @type {HandlerMetadata[]} what plugins' onHandlerLoad got */
    this.handlers = []
    /** @type {readonly ModuleMetadata[] | undefined} the loaded modules */
    this.modules = undefined
    /** @type {[Plugin, number][]} [plugin, registration index], in priority order */
    this.sorted = []
    /** @type {RouteEntry[]} by route id */
    this.routes = []
    /** @type {{ prefix: string, path: string, cache?: boolean | number }[]} static mounts plugins add (before onBeforeStart ends), after the engine's own */
    this.staticMounts = []
  }

  /** The Rust engine; throws before the engine loads. */
  loadedNative() {
    if (!this.native) throw new Error('nebula: the engine has not loaded yet')
    return this.native
  }

  /**
   * The chain of a handler's method.
   * @param {{ module: Function, methodName: string | symbol }} handler
   */
  chainOf(handler) {
    return this.methods.get(methodKey(handler.module, handler.methodName))
  }
}

/** @type {WeakMap<object, EngineInternals>} */
const byEngine = new WeakMap()

/**
 * The internals of a new engine (called once, by its constructor).
 * @param {object} engine
 */
function createInternals(engine) {
  const internals = new EngineInternals()
  byEngine.set(engine, internals)
  return internals
}

/**
 * The internals of `engine`.
 * @param {import('./microservice').Microservice} engine
 */
function internalsOf(engine) {
  const internals = byEngine.get(engine)
  if (!internals) throw new TypeError('nebula: not an engine (a Microservice) of this package')
  return internals
}

/**
 * @param {Function} clazz
 * @param {string | symbol} methodName
 */
function methodKey(clazz, methodName) {
  return `${moduleId(clazz)}:${String(methodName)}`
}

/** @type {WeakMap<Function, number>} */
const ids = new WeakMap()
let nextId = 0
/** @param {Function} clazz */
function moduleId(clazz) {
  let id = ids.get(clazz)
  if (id === undefined) {
    id = ++nextId
    ids.set(clazz, id)
  }
  return id
}

module.exports = { EngineInternals, createInternals, internalsOf, methodKey }
