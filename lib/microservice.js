'use strict'

const binding = require('./native')
const { PluginPriority } = require('./priority')
const { drainer } = require('./dispatch')
const { applyChains, nativePluginId } = require('./chains')
const { toInjected, toWebResponse } = require('./inject')
const { resolveOptions } = require('./options')
const { declaredNative } = require('./native-layer')
const { RoutePlugin } = require('./route-plugin')
const { DEFAULT_KEY } = require('./decorators')
const { PluginNameRequiredError } = require('./errors')
const { messageOf, logError, thenOf } = require('./fault')
const { withinLimit, GAVE_UP } = require('./deadline')
const { Lifecycle } = require('./lifecycle')
const { createInternals } = require('./engine-internals')
const { loadModules, validateModules, collectHandlers } = require('./modules')

/** @typedef {import('./engine-internals').Plugin} Plugin */
/** @typedef {import('../index').ModuleMetadata} ModuleMetadata */
/** @typedef {import('../index').HandlerMetadata} HandlerMetadata */
/** @typedef {import('../index').MicroserviceOptions} MicroserviceOptions */
/** @typedef {import('../index').RouteRegistration} RouteRegistration */
/** @typedef {'onInit' | 'onModuleLoad' | 'onHandlerLoad' | 'onBeforeStart' | 'onAfterStart'} Hook */
/** @typedef {Plugin | (() => Plugin)} PluginEntry */

/**
 * A built-in default plugin is a factory, so every engine gets its own instance.
 * @type {PluginEntry[]}
 */
const defaultPlugins = [() => new RoutePlugin()]

/**
 * @param {Plugin} plugin
 * @param {Hook} hook
 * @param {unknown} err
 */
function hookError(plugin, hook, err) {
  return new Error(`Plugin ${plugin.name} failed in ${hook}: ${messageOf(err)}`, { cause: err })
}

/**
 * Whether `v` is a thenable; reading `then` may throw (in `#call` a hook failure, in `#prepare` a failed start).
 * @param {unknown} v
 */
const isThenable = (v) => thenOf(v) !== undefined

class Microservice {
  /**
   * Adds a plugin to every engine created afterwards (not to Factory/Testing engines).
   * @param {Plugin} plugin
   */
  static registerDefaultPlugin(plugin) {
    checkPlugin(plugin)
    defaultPlugins.push(plugin)
  }

  /** Where the engine is in its lifecycle (lib/lifecycle.js). */
  #life = new Lifecycle()
  /** What the chain builder, the request drain and the system plugins share with the engine. */
  #internals = createInternals(this)
  /** @type {symbol} which @Module classes are this engine's (Factory engines have their own) */
  #key
  /** @type {Map<string, Plugin>} by name, in registration order */
  #plugins = new Map()
  /** @type {unknown[]} what the load-phase hooks returned: start() and request() await the promises among them */
  #pendingHooks = []
  /** The registration index of the plugin whose hook runs now: handler.wrap() records it. */
  #currentPlugin = -1
  /** @type {Promise<void> | undefined} the preparation, once begun (it runs once) */
  #preparing
  /** @type {Promise<number> | undefined} the start() in progress */
  #starting
  /** @type {Promise<void> | undefined} the stop(), once called */
  #stopping
  /** The port the server listens on; 0 when it does not listen. */
  #port = 0
  /** @type {Set<Promise<Response>>} in-process requests in flight: stop() waits for them */
  #injecting = new Set()

  /**
   * @param {MicroserviceOptions} options
   * @param {{ key?: symbol, plugins?: PluginEntry[] }} [internal] what Factory engines get instead of the defaults
   */
  constructor(options, internal = {}) {
    this.options = resolveOptions(options)
    this.#key = internal.key || DEFAULT_KEY
    const initial = internal.plugins || (this.options.disableDefaultPlugins ? [] : defaultPlugins)
    for (const p of initial) this.plugin(typeof p === 'function' ? p() : p)
  }

  /**
   * Registers a plugin; one with the same name replaces the earlier one in place.
   * @param {Plugin} plugin
   * @returns {this}
   */
  plugin(plugin) {
    checkPlugin(plugin)
    if (!this.#life.is('new')) {
      throw new Error(`Cannot add plugin ${plugin.name}: the engine is already initialized (it is ${this.#life.state})`)
    }
    this.#plugins.set(plugin.name, plugin)
    return this
  }

  /**
   * The server SDK of the registered HubPlugin (undefined without one).
   * @returns {import('./hub/facade').Hub | undefined}
   */
  get hub() {
    return require('./hub/plugin').hubOf(this.#plugins.values())
  }

  /**
   * The script VM of the registered JsvmPlugin (undefined without one).
   * @returns {import('./jsvm/plugin').Jsvm | undefined}
   */
  get jsvm() {
    return require('./jsvm/plugin').jsvmOf(this.#plugins.values())
  }

  getPlugins() {
    return [...this.#plugins.values()]
  }

  // ---- loading ----------------------------------------------------------

  /** Loads the engine on first use; throws what made loading fail. */
  #ensureLoaded() {
    const life = this.#life
    if (life.is('new')) this.#load()
    else if (life.is('load-failed')) throw life.error
  }

  /** Loads modules and runs the lifecycle up to the applied chains (synchronous hooks). */
  #load() {
    const life = this.#life
    life.move('new', 'loading')
    try {
      this.#loadSteps()
      life.move('routing', 'loaded')
    } catch (err) {
      if (!life.move('loading', 'load-failed', err)) life.move('routing', 'load-failed', err)
      throw err
    }
  }

  /**
   * Calls `plugin[hook](arg)`; a failure (a throw, or later a rejection) names the plugin and the hook.
   * @param {Plugin} plugin
   * @param {Hook} hook
   * @param {unknown} arg
   * @param {number} index the plugin's registration index
   */
  #call(plugin, hook, arg, index) {
    /** @type {Function | undefined} */
    const fn = plugin[hook]
    if (typeof fn !== 'function') return undefined
    const before = this.#currentPlugin
    this.#currentPlugin = index
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
      this.#currentPlugin = before
    }
  }

  #loadSteps() {
    const internals = this.#internals
    const plugins = [...this.#plugins.values()]
    const specs = plugins.map((p) => ({ name: p.name, priority: p.priority ?? undefined }))
    const order = binding.planPlugins(specs)
    internals.native = new binding.NativeEngine({
      bodyLimit: this.options.bodyLimit,
      handlerTimeoutMs: this.options.handlerTimeout,
      headerTimeoutMs: this.options.headerTimeout,
      bodyTimeoutMs: this.options.bodyTimeout,
      maxConnections: this.options.maxConnections,
      shutdownTimeoutMs: this.options.shutdownTimeout,
      // NEBULA_HTTP_MODE wins (the test suite runs in both modes); read here as
      // well as natively: a worker thread's process.env is its own copy.
      httpMode: process.env.NEBULA_HTTP_MODE || this.options.httpMode,
    })

    for (const p of plugins) {
      const declared = declaredNative(p)
      if (declared) nativePluginId(this, p, declared.kind, declared.options)
    }

    const modules = loadModules(this.options.modules, this.#key)
    validateModules(modules, plugins)
    internals.modules = modules
    const later = this.#pendingHooks
    plugins.forEach((p, i) => {
      later.push(this.#call(p, 'onInit', this, i))
    })
    plugins.forEach((p, i) => {
      later.push(this.#call(p, 'onModuleLoad', modules, i))
    })
    collectHandlers(modules, internals, { state: () => this.#life.state, plugin: () => this.#currentPlugin })

    /** @type {[Plugin, number][]} [plugin, registration index] by priority */
    const sorted = order.sorted.map((i) => [plugins[i], i])
    const first = sorted.filter((_, k) => !order.isRoute[k])
    const route = sorted.filter((_, k) => order.isRoute[k])
    for (const [p, i] of first) later.push(this.#call(p, 'onHandlerLoad', internals.handlers, i))
    applyChains(this, specs)
    this.#life.move('loading', 'routing')
    for (const [p, i] of route) later.push(this.#call(p, 'onHandlerLoad', internals.handlers, i))
    internals.sorted = sorted
  }

  /**
   * `(ctx) => result`: the handler's chain as a route runs it. The chain's native
   * prefix ran in Rust already (addRoute with this `handler` put it there). The
   * result is a plain value when no JavaScript layer is left, else a promise.
   * @param {HandlerMetadata} handler
   * @returns {(ctx: import('../index').Context) => unknown}
   */
  routeInvoker(handler) {
    const internals = this.#internals
    const chain = internals.chainOf(handler)
    const run = chain?.httpRun
    if (!chain || !run) {
      throw new Error(`routeInvoker() needs a handler of this engine, after the chains were applied (the engine is ${this.#life.state})`)
    }
    const instance = internals.instances.get(handler.module)
    return (ctx) => run(/** @type {object} */ (instance), [ctx])
  }

  /**
   * The low-level route API RoutePlugin uses: `handle(ctx)` answers one request.
   * @param {RouteRegistration} route
   */
  addRoute({ methods, path, handle, handler, validate }) {
    const internals = this.#internals
    const native = internals.native
    if (!native) throw new Error(`addRoute() is only possible while the engine loads (from a plugin hook), not when it is ${this.#life.state}`)
    if (typeof handle !== 'function') throw new TypeError('addRoute({ handle }) needs a function')
    const list = (Array.isArray(methods) ? methods : [methods]).map((m) => String(m).toUpperCase())
    const id = internals.routes.length
    const chain = handler && internals.chainOf(handler)
    const layers = chain?.nativeLayers && chain.nativeLayers.length > 0 ? chain.nativeLayers : null
    // JSON Schemas by part, compiled (once) and checked in Rust before `handle` runs.
    const schemas = validate && Object.keys(validate).length > 0 ? validate : undefined
    let text = null
    if (schemas) {
      try {
        text = JSON.stringify(schemas)
      } catch (err) {
        throw new TypeError(`route ${list.join(',')} ${path}: validate is not JSON (${err instanceof Error ? err.message : String(err)})`)
      }
    }
    native.addRoute(list, path, id, layers, text)
    internals.routes.push({ handle, handler, path, schemas })
  }

  // ---- start and stop ---------------------------------------------------

  /** Awaits the async load hooks, runs onBeforeStart and builds the server, once. */
  #prepare() {
    if (!this.#preparing) this.#preparing = this.#runPrepare()
    return this.#preparing
  }

  async #runPrepare() {
    const life = this.#life
    // Asked from a load hook (request() in onInit): the (synchronous) load finishes first.
    if (life.is('loading', 'routing')) await undefined
    this.#ensureLoaded()
    if (!life.move('loaded', 'preparing')) throw new Error(`Engine is stopped (it is ${life.state})`)
    try {
      const pending = this.#pendingHooks.filter(isThenable)
      this.#pendingHooks = []
      await Promise.all(pending)
      const internals = this.#internals
      for (const [p, i] of internals.sorted) await this.#call(p, 'onBeforeStart', this, i)
      const native = internals.loadedNative()
      native.setInfo(this.options.name, this.options.version, this.options.prefix)
      const statics = this.options.static
      const mounts = [...(statics ? (Array.isArray(statics) ? statics : [statics]) : []), ...internals.staticMounts]
      if (mounts.length > 0) native.addStatic(mounts.map(staticMount))
      native.build(drainer(this))
      life.move('preparing', 'prepared')
    } catch (err) {
      life.move('preparing', 'prepare-failed', err)
      throw err
    }
  }

  /**
   * Runs the lifecycle and listens; resolves to the real port (0 = a free one).
   * @param {number} [port]
   */
  async start(port = 0) {
    const state = this.#life.state
    if (this.#starting || state === 'started') throw new Error(`Engine is already started (it is ${state})`)
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid port ${port}: use 0-65535`)
    if (state === 'stopping' || state === 'stopped') throw new Error(`Engine is stopped; create a new one (it is ${state})`)
    this.#starting = this.#start(port)
    try {
      return await this.#starting
    } finally {
      // A failed start (e.g. the port is taken) may be retried.
      this.#starting = undefined
    }
  }

  /** @param {number} port */
  async #start(port) {
    await this.#prepare()
    const life = this.#life
    if (life.move('prepared', 'starting')) {
      try {
        for (const [p, i] of this.#internals.sorted) await this.#call(p, 'onAfterStart', this, i)
      } catch (err) {
        life.move('starting', 'prepared')
        throw err
      }
    } else {
      life.move('listen-failed', 'starting')
    }
    if (!life.is('starting')) throw new Error(`Engine was stopped while starting (it is ${life.state})`)
    try {
      this.#port = await this.#internals.loadedNative().listen(this.options.hostname, port, keepAlive)
    } catch (err) {
      life.move('starting', 'listen-failed')
      throw err
    }
    life.move('starting', 'started')
    return this.#port
  }

  /**
   * Lets in-flight requests finish, then calls onDestroy in reverse registration order.
   * Every call returns the same promise.
   * @returns {Promise<void>}
   */
  stop() {
    if (!this.#stopping) this.#stopping = this.#stop()
    return this.#stopping
  }

  async #stop() {
    const life = this.#life
    life.move(life.state, 'stopping')
    // A start() in progress gives up before listening (or finishes), so nothing listens after stop().
    if (this.#starting) await this.#starting.catch(() => {})
    const native = this.#internals.native
    const drains = []
    if (native && this.#port !== 0) drains.push(native.close(this.#internals.stopGraceMs))
    if (this.#injecting.size > 0) drains.push(Promise.allSettled([...this.#injecting]))
    await Promise.all(drains)
    // Native plugins finish buffered work (e.g. queued access-log lines) before onDestroy.
    if (native && this.#internals.nativePlugins.size > 0) await native.flushPlugins()
    this.#port = 0
    const plugins = [...this.#plugins.values()].reverse()
    const limit = this.options.shutdownTimeout
    for (const p of plugins) {
      const onDestroy = p.onDestroy
      if (typeof onDestroy !== 'function') continue
      try {
        if ((await withinLimit(() => onDestroy.call(p), limit)) === GAVE_UP) {
          logError(`[nebula] Plugin ${p.name} onDestroy did not settle within shutdownTimeout (${limit} ms); stop() goes on without it`)
        }
      } catch (err) {
        logError(`[nebula] Plugin ${p.name} failed in onDestroy:`, err)
      }
    }
    life.move('stopping', 'stopped')
  }

  getPort() {
    return this.#port
  }

  getModules() {
    this.#ensureLoaded()
    return /** @type {ModuleMetadata[]} */ (this.#internals.modules)
  }

  /**
   * The engine's instance of a module class; its decorated methods run their chains.
   * @template T
   * @param {new (...args: any[]) => T} clazz
   * @returns {T}
   */
  get(clazz) {
    this.#ensureLoaded()
    const instance = this.#internals.instances.get(clazz)
    if (!instance) throw new Error(`${clazz?.name || clazz} is not a module of this engine`)
    return /** @type {T} */ (instance)
  }

  /**
   * The fully wrapped method, callable without HTTP.
   * @template T
   * @template {keyof T} K
   * @param {new (...args: any[]) => T} clazz
   * @param {K} methodName
   * @returns {T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never}
   */
  handler(clazz, methodName) {
    // As nebula-engine: looked up at the call, so a missing method (or an engine that cannot
    // load) rejects the call rather than throwing here.
    return /** @type {any} */ (
      async (/** @type {unknown[]} */ ...args) => {
        const instance = this.get(clazz)
        const fn = instance[methodName]
        if (typeof fn !== 'function') throw new Error(`Handler ${String(methodName)} not found in module ${clazz.name}`)
        return fn.apply(instance, args)
      }
    )
  }

  /**
   * Runs a request through the Rust router and the plugin chain without a socket.
   * @param {string | URL | Request} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async request(input, init = {}) {
    const state = this.#life.state
    if (state === 'stopping' || state === 'stopped') throw new Error(`Engine is stopped (it is ${state})`)
    const running = this.#inject(input, init)
    this.#injecting.add(running)
    try {
      return await running
    } finally {
      this.#injecting.delete(running)
    }
  }

  /**
   * @param {string | URL | Request} input
   * @param {RequestInit} init
   */
  async #inject(input, init) {
    await this.#prepare()
    const req = await toInjected(input, init)
    const res = await this.#internals.loadedNative().inject(req.method, req.target, req.headers, req.body)
    return toWebResponse(req.method, res)
  }

  /** `{ requests, jsCalls, inFlight }`: jsCalls counts the calls Rust made into JavaScript. */
  stats() {
    const native = this.#internals.native
    if (!native) return { requests: 0, jsCalls: 0, inFlight: 0 }
    return native.stats()
  }
}

// Never called: while the server listens, the native side holds it to keep Node's event loop alive.
function keepAlive() {}

/** @param {import('../index').StaticOptions} s */
function staticMount(s) {
  if (!s || typeof s.path !== 'string') throw new TypeError('static: each entry needs { path, prefix?, cache? }')
  return { prefix: s.prefix ?? '/', path: s.path, cache: s.cache }
}

/** @param {Plugin} plugin */
function checkPlugin(plugin) {
  if (!plugin || typeof plugin !== 'object') throw new TypeError('plugin(p) expects a plugin object')
  if (typeof plugin.name !== 'string' || plugin.name.trim() === '') throw new PluginNameRequiredError()
}

module.exports = { Microservice, PluginPriority, defaultPlugins }
