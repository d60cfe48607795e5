'use strict'

const binding = require('./native')
const { PluginPriority } = require('./priority')
const { drainer } = require('./dispatch')
const { applyChains, nativePluginId } = require('./chains')
const { toInjected, toWebResponse } = require('./inject')
const { resolveOptions } = require('./options')
const { nativeSpec, declaredNative } = require('./native-layer')
const { RoutePlugin } = require('./route-plugin')
const { DEFAULT_KEY, collectHandlerMarks, modulesFor, moduleRegistry } = require('./decorators')
const { PluginNameRequiredError, ModuleConfigValidationError } = require('./errors')
const { messageOf, logError, thenOf } = require('./fault')

/** A built-in default plugin is a factory, so every engine gets its own instance. */
const defaultPlugins = [() => new RoutePlugin()]

function hookError(plugin, hook, err) {
  return new Error(`Plugin ${plugin.name} failed in ${hook}: ${messageOf(err)}`, { cause: err })
}

/** Whether `v` is a thenable; reading `then` may throw (in `_call` a hook failure, in `_prepare` a failed start). */
const isThenable = (v) => thenOf(v) !== undefined

class Microservice {
  /** Adds a plugin to every engine created afterwards (not to Factory/Testing engines). */
  static registerDefaultPlugin(plugin) {
    checkPlugin(plugin)
    defaultPlugins.push(plugin)
  }

  constructor(options, internal = {}) {
    this.options = resolveOptions(options)
    this._key = internal.key || DEFAULT_KEY
    this._plugins = new Map()
    this._state = 'new' // new → loaded → prepared → started → stopped
    const initial = internal.plugins || (this.options.disableDefaultPlugins ? [] : defaultPlugins)
    for (const p of initial) this.plugin(typeof p === 'function' ? p() : p)
    this._modules = undefined
    this._instances = new Map()
    this._handlers = []
    this._methods = new Map()
    this._routes = []
    this._native = undefined
    this._pendingHooks = []
    this._preparing = undefined
    this._port = 0
    this._currentPlugin = -1
    this._chainsApplied = false
    /** In-process requests in flight: stop() waits for them. */
    this._injecting = new Set()
  }

  /** Registers a plugin; one with the same name replaces the earlier one in place. */
  plugin(plugin) {
    checkPlugin(plugin)
    if (this._state !== 'new') throw new Error(`Cannot add plugin ${plugin.name}: the engine is already initialized`)
    this._plugins.set(plugin.name, plugin)
    return this
  }

  /** The server SDK of the registered HubPlugin (undefined without one). */
  get hub() {
    return require('./hub/plugin').hubOf(this._plugins.values())
  }

  /** The script VM of the registered JsvmPlugin (undefined without one). */
  get jsvm() {
    return require('./jsvm/plugin').jsvmOf(this._plugins.values())
  }

  getPlugins() {
    return [...this._plugins.values()]
  }

  // ---- lifecycle --------------------------------------------------------

  /** Loads modules and runs the lifecycle up to the applied chains (synchronous hooks). */
  _load() {
    if (this._state !== 'new') return
    this._state = 'loading'
    try {
      this._loadSteps()
      this._state = 'loaded'
    } catch (err) {
      this._state = 'failed'
      this._failure = err
      throw err
    }
  }

  _ensureLoaded() {
    if (this._state === 'failed') throw this._failure
    this._load()
  }

  _call(plugin, hook, arg, index) {
    const fn = plugin[hook]
    if (typeof fn !== 'function') return undefined
    const before = this._currentPlugin
    this._currentPlugin = index
    try {
      const out = fn.call(plugin, arg)
      if (!isThenable(out)) return out
      const settled = Promise.resolve(out).catch((err) => Promise.reject(hookError(plugin, hook, err)))
      // Handled here so an engine used only through get()/handler() never sees an
      // unhandled rejection; start() and request() still await it and fail with it.
      settled.catch(() => {})
      return settled
    } catch (err) {
      throw hookError(plugin, hook, err)
    } finally {
      this._currentPlugin = before
    }
  }

  _loadSteps() {
    const plugins = [...this._plugins.values()]
    const specs = plugins.map((p) => ({ name: p.name, priority: p.priority ?? undefined }))
    const order = binding.planPlugins(specs)
    this._native = new binding.NativeEngine({
      bodyLimit: this.options.bodyLimit,
      handlerTimeoutMs: this.options.handlerTimeout,
      headerTimeoutMs: this.options.headerTimeout,
      bodyTimeoutMs: this.options.bodyTimeout,
      maxConnections: this.options.maxConnections,
      shutdownTimeoutMs: this.options.shutdownTimeout,
    })

    for (const p of plugins) {
      const declared = declaredNative(p)
      if (declared) this._nativePluginId(p, declared.kind, declared.options)
    }

    const modules = this._loadModules()
    this._validateModules(modules, plugins)
    this._loadedModules = modules
    const later = this._pendingHooks
    plugins.forEach((p, i) => later.push(this._call(p, 'onInit', this, i)))
    plugins.forEach((p, i) => later.push(this._call(p, 'onModuleLoad', modules, i)))
    this._collectHandlers(modules)

    const sorted = order.sorted.map((i) => [plugins[i], i])
    const first = sorted.filter((_, k) => !order.isRoute[k])
    const route = sorted.filter((_, k) => order.isRoute[k])
    for (const [p, i] of first) later.push(this._call(p, 'onHandlerLoad', this._handlers, i))
    this._applyChains(specs)
    for (const [p, i] of route) later.push(this._call(p, 'onHandlerLoad', this._handlers, i))
    /** [plugin, registration index] by priority. */
    this._sorted = sorted
  }

  _loadModules() {
    let entries
    if (this.options.modules) {
      entries = this.options.modules.map((clazz) => {
        const entry = moduleRegistry.find((m) => m.clazz === clazz)
        if (!entry) throw new TypeError(`${(clazz && clazz.name) || clazz} is not decorated with @Module`)
        return entry
      })
    } else {
      entries = modulesFor(this._key)
    }
    this._modules = entries.map((e) => Object.freeze({ name: e.name, clazz: e.clazz, options: e.options }))
    return this._modules
  }

  _validateModules(modules, plugins) {
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

  _collectHandlers(modules) {
    for (const m of modules) {
      if (this._instances.has(m.clazz)) continue
      this._instances.set(m.clazz, new m.clazz())
      for (const { methodName, method, marks } of collectHandlerMarks(m.clazz)) {
        const chain = { clazz: m.clazz, methodName, method, wraps: [] }
        this._methods.set(methodKey(m.clazz, methodName), chain)
        for (const mark of marks) this._handlers.push(this._handlerMetadata(m, chain, mark))
      }
    }
  }

  _handlerMetadata(mod, chain, mark) {
    const engine = this
    return Object.freeze({
      type: mark.type,
      options: mark.options,
      method: chain.method,
      methodName: chain.methodName,
      module: mod.clazz,
      wrap(wrapper) {
        if (typeof wrapper !== 'function') throw new TypeError('handler.wrap() expects a function (next, instance, ...args) => any')
        if (engine._chainsApplied) {
          throw new Error(
            `handler.wrap() on ${chain.methodName} came after the chains were applied: wrap in onHandlerLoad of a plugin whose priority is not ROUTE`,
          )
        }
        chain.wraps.push({ fn: wrapper, plugin: engine._currentPlugin, native: nativeSpec(wrapper) !== undefined })
      },
    })
  }

  /** The chain of wrappers of a handler's method. */
  _chainOf(handler) {
    return this._methods.get(methodKey(handler.module, handler.methodName))
  }

  _applyChains(specs) {
    applyChains(this, specs)
    this._chainsApplied = true
  }

  /** The Rust plugin behind a JS plugin object, created once per engine. */
  _nativePluginId(plugin, kind, options) {
    return nativePluginId(this, plugin, kind, options)
  }

  /**
   * `(ctx) => result`: the handler's chain as a route runs it. The chain's native
   * prefix ran in Rust already (addRoute with this `handler` put it there).
   */
  routeInvoker(handler) {
    const chain = this._methods.get(methodKey(handler.module, handler.methodName))
    if (!chain || !chain.httpRun) throw new Error('routeInvoker() needs a handler of this engine, after the chains were applied')
    const instance = this._instances.get(handler.module)
    const run = chain.httpRun
    return (ctx) => run(instance, [ctx])
  }

  /** The low-level route API RoutePlugin uses: `handle(ctx)` answers one request. */
  addRoute({ methods, path, handle, handler }) {
    if (!this._native) throw new Error('addRoute() is only possible while the engine loads (from a plugin hook)')
    if (typeof handle !== 'function') throw new TypeError('addRoute({ handle }) needs a function')
    const list = (Array.isArray(methods) ? methods : [methods]).map((m) => String(m).toUpperCase())
    const id = this._routes.length
    const chain = handler && this._methods.get(methodKey(handler.module, handler.methodName))
    const layers = chain && chain.nativeLayers && chain.nativeLayers.length > 0 ? chain.nativeLayers : null
    this._native.addRoute(list, path, id, layers)
    this._routes.push({ handle, handler, path })
  }

  _prepare() {
    if (!this._preparing) {
      this._preparing = (async () => {
        this._ensureLoaded()
        const pending = this._pendingHooks.filter(isThenable)
        this._pendingHooks = []
        await Promise.all(pending)
        for (const [p, i] of this._sorted) await this._call(p, 'onBeforeStart', this, i)
        this._native.setInfo(this.options.name, this.options.version, this.options.prefix)
        const statics = this.options.static
        if (statics) this._native.addStatic((Array.isArray(statics) ? statics : [statics]).map(staticMount))
        this._native.build(drainer(this))
        this._state = 'prepared'
      })()
    }
    return this._preparing
  }

  async start(port = 0) {
    if (this._startCalled) throw new Error('Engine is already started')
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid port ${port}: use 0-65535`)
    if (this._state === 'stopped') throw new Error('Engine is stopped; create a new one')
    this._startCalled = true
    this._starting = this._start(port)
    try {
      return await this._starting
    } catch (err) {
      // A failed start (e.g. the port is taken) may be retried.
      this._startCalled = false
      throw err
    } finally {
      this._starting = undefined
    }
  }

  async _start(port) {
    await this._prepare()
    if (!this._afterStartDone) {
      for (const [p, i] of this._sorted) await this._call(p, 'onAfterStart', this, i)
      this._afterStartDone = true
    }
    if (this._stopRequested) throw new Error('Engine was stopped while starting')
    this._port = await this._native.listen(this.options.hostname, port, keepAlive)
    this._state = 'started'
    return this._port
  }

  async stop() {
    if (this._state === 'stopped') return
    // A start() in progress gives up before listening (or finishes), so nothing listens after stop().
    this._stopRequested = true
    if (this._starting) await this._starting.catch(() => {})
    const wasStarted = this._state === 'started'
    this._state = 'stopped'
    const drains = []
    if (wasStarted) drains.push(this._native.close())
    if (this._injecting.size > 0) drains.push(Promise.allSettled([...this._injecting]))
    await Promise.all(drains)
    // Native plugins finish buffered work (e.g. queued access-log lines) before onDestroy.
    if (this._native && this._nativePlugins && this._nativePlugins.size > 0) await this._native.flushPlugins()
    this._port = 0
    const plugins = [...this._plugins.values()].reverse()
    for (const p of plugins) {
      if (typeof p.onDestroy !== 'function') continue
      try {
        await p.onDestroy()
      } catch (err) {
        logError(`[nebula] Plugin ${p.name} failed in onDestroy:`, err)
      }
    }
  }

  getPort() {
    return this._port
  }

  getModules() {
    this._ensureLoaded()
    return this._modules
  }

  get(clazz) {
    this._ensureLoaded()
    const instance = this._instances.get(clazz)
    if (!instance) throw new Error(`${(clazz && clazz.name) || clazz} is not a module of this engine`)
    return instance
  }

  handler(clazz, methodName) {
    const instance = this.get(clazz)
    const fn = instance[methodName]
    if (typeof fn !== 'function') throw new Error(`${clazz.name} has no method ${String(methodName)}`)
    return async (...args) => fn.apply(instance, args)
  }

  async request(input, init = {}) {
    if (this._state === 'stopped') throw new Error('Engine is stopped')
    const running = this._inject(input, init)
    this._injecting.add(running)
    try {
      return await running
    } finally {
      this._injecting.delete(running)
    }
  }

  async _inject(input, init) {
    await this._prepare()
    const req = await toInjected(input, init)
    const res = await this._native.inject(req.method, req.target, req.headers, req.body)
    return toWebResponse(req.method, res)
  }

  /** `{ requests, jsCalls, inFlight }`: jsCalls counts the calls Rust made into JavaScript. */
  stats() {
    if (!this._native) return { requests: 0, jsCalls: 0, inFlight: 0 }
    return this._native.stats()
  }
}

// Never called: while the server listens, the native side holds it to keep Node's event loop alive.
function keepAlive() {}

function staticMount(s) {
  if (!s || typeof s.path !== 'string') throw new TypeError('static: each entry needs { path, prefix?, cache? }')
  return { prefix: s.prefix ?? '/', path: s.path, cache: s.cache }
}

function checkPlugin(plugin) {
  if (!plugin || typeof plugin !== 'object') throw new TypeError('plugin(p) expects a plugin object')
  if (typeof plugin.name !== 'string' || plugin.name.trim() === '') throw new PluginNameRequiredError()
}

function methodKey(clazz, methodName) {
  return `${moduleId(clazz)}:${String(methodName)}`
}

const ids = new WeakMap()
let nextId = 0
function moduleId(clazz) {
  if (!ids.has(clazz)) ids.set(clazz, ++nextId)
  return ids.get(clazz)
}

module.exports = { Microservice, PluginPriority, defaultPlugins }
