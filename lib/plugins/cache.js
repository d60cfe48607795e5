'use strict'

// CachePlugin: the JS face of the native "cache" plugin (crates/nebula-core/src/plugins/cache.rs).
// Route requests of `@Cache` methods are answered from the store in Rust
// (a hit never enters JavaScript); `engine.handler()` calls are cached by
// arguments through the layer's get/set operations. The store is in memory
// (bounded) or in Redis (shared by processes), in Rust either way.

const crypto = require('node:crypto')
const { PluginPriority } = require('../priority')
const { nativeLayer, nativeSpec } = require('../native-layer')
const { Handler } = require('../decorators')
const { HttpResponse } = require('../context')
const { cache: SPECS, knownOptions, optionSchema, defaultOf } = require('./specs')

const DEFAULT_TTL = 60000
const MAX_TTL = 2 ** 53 - 1
const MAX_ENTRIES = 2 ** 32 - 1
const MAX_BYTES = 2 ** 40
const TIMEOUT = optionSchema(SPECS.redis, 'timeoutMs')

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function checkIntOption(v, name, min, max, who) {
  if (v === undefined) return
  if (!(Number.isSafeInteger(v) && v >= min && v <= max)) {
    throw new TypeError(`${who}: ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`)
  }
}

/** `@Cache` / handler options: ttl (ms, ≥ 0), key (a function), enabled (boolean). */
function checkCacheOptions(options, who) {
  if (!isPlainObject(options)) throw new TypeError(`${who}: options must be an object`)
  const { ttl, key, enabled } = options
  if (ttl !== undefined && !(typeof ttl === 'number' && ttl >= 0 && ttl <= MAX_TTL)) {
    throw new TypeError(`${who}: ttl must be a number of milliseconds >= 0, got ${JSON.stringify(ttl)}`)
  }
  if (key !== undefined && typeof key !== 'function') {
    throw new TypeError(`${who}: key must be a function (...args) => any`)
  }
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw new TypeError(`${who}: enabled must be a boolean`)
  }
}

/**
 * Marks a module method as cached (nebula-engine's `@Cache`): results of
 * `engine.handler()` calls by arguments, and GET/HEAD replies of its route.
 * `ttl` defaults to the module's `cacheDefaultTtl`, else 60 000 ms.
 */
function Cache(options = {}) {
  checkCacheOptions(options, '@Cache')
  return Handler({ type: 'cache', options: { ttl: options.ttl, key: options.key, enabled: options.enabled } })
}

/** The default store: in memory, in Rust, bounded by entries and bytes (oldest evicted first). */
class MemoryCacheAdapter {
  constructor(options = {}) {
    const who = 'MemoryCacheAdapter'
    if (!isPlainObject(options)) throw new TypeError(`${who}: options must be an object`)
    knownOptions(SPECS.memory, options)
    checkIntOption(options.maxEntries, 'maxEntries', 0, MAX_ENTRIES, who)
    checkIntOption(options.maxBytes, 'maxBytes', 0, MAX_BYTES, who)
    this.maxEntries = options.maxEntries ?? defaultOf(SPECS.memory, 'maxEntries')
    this.maxBytes = options.maxBytes ?? defaultOf(SPECS.memory, 'maxBytes')
  }

  /** @internal the native plugin's options */
  _native() {
    return { store: 'memory', maxEntries: this.maxEntries, maxBytes: this.maxBytes }
  }
}

/**
 * A store in Redis, shared by every process with the same `url` and
 * `prefix`. Configuration only: the connection is made in Rust.
 */
class RedisCacheAdapter {
  constructor(options) {
    const who = 'RedisCacheAdapter'
    if (!isPlainObject(options)) throw new TypeError(`${who}({ url, prefix? }) needs options`)
    if ('client' in options) {
      throw new TypeError(`${who}: the connection is made in Rust: pass { url: "redis://host:port" } instead of a client`)
    }
    knownOptions(SPECS.redis, options)
    const { url } = options
    if (typeof url !== 'string' || !/^(redis|redis\+unix|unix):\/\//.test(url)) {
      throw new TypeError(`${who}: url must be a redis:// (or redis+unix://) URL${/^rediss:/.test(String(url)) ? ' (TLS is not supported)' : ''}`)
    }
    const prefix = options.prefix ?? options.keyPrefix ?? defaultOf(SPECS.redis, 'prefix')
    if (typeof prefix !== 'string' || prefix === '') {
      throw new TypeError(`${who}: prefix must be a non-empty string (clear() deletes every key that starts with it)`)
    }
    checkIntOption(options.timeoutMs, 'timeoutMs', TIMEOUT.minimum, TIMEOUT.maximum, who)
    this.url = url
    this.prefix = prefix
    this.timeoutMs = options.timeoutMs ?? TIMEOUT.default
  }

  /** @internal */
  _native() {
    return { store: 'redis', url: this.url, prefix: this.prefix, timeoutMs: this.timeoutMs }
  }
}

// ---- keys ---------------------------------------------------------------------------

/** JSON-like value with object keys sorted, so equal arguments give equal keys. */
function canonical(v, seen) {
  if (v !== null && typeof v === 'object' && typeof v.toJSON === 'function') v = v.toJSON()
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v === null || typeof v !== 'object') return v
  if (seen.has(v)) throw new TypeError('circular argument')
  seen.add(v)
  let out
  if (Array.isArray(v)) {
    out = v.map((x) => {
      const c = canonical(x, seen)
      return c === undefined || typeof c === 'function' || typeof c === 'symbol' ? null : c
    })
  } else if (v instanceof Map) {
    out = { $map: [...v].map(([k, x]) => [canonical(k, seen), canonical(x, seen)]) }
  } else if (v instanceof Set) {
    out = { $set: [...v].map((x) => canonical(x, seen)) }
  } else if (ArrayBuffer.isView(v)) {
    out = { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') }
  } else {
    out = {}
    for (const k of Object.keys(v).sort()) {
      const c = canonical(v[k], seen)
      if (c !== undefined && typeof c !== 'function' && typeof c !== 'symbol') out[k] = c
    }
  }
  seen.delete(v)
  return out
}

/** `prefix` + sha256 of the canonical JSON of `material`; throws for what cannot be keyed. */
function cacheKey(prefix, material) {
  const text = JSON.stringify(canonical(material, new Set())) ?? 'undefined'
  return prefix + crypto.createHash('sha256').update(text).digest('hex')
}

/** The JSON text to store for a result, or undefined when it is not cached. */
function storedJson(result) {
  if (result === undefined || typeof result === 'function' || typeof result === 'symbol') return undefined
  if (result instanceof HttpResponse || (typeof Response !== 'undefined' && result instanceof Response)) return undefined
  if (ArrayBuffer.isView(result) || result instanceof ArrayBuffer) return undefined
  try {
    return JSON.stringify(result)
  } catch {
    return undefined
  }
}

// ---- the plugin --------------------------------------------------------------------

/** Chain identity: the module class and the method name. */
function methodsWith(handlers, type) {
  const found = new Map()
  for (const h of handlers) {
    if (h.type !== type) continue
    if (!found.has(h.module)) found.set(h.module, new Set())
    found.get(h.module).add(h.methodName)
  }
  return found
}

/**
 * Caches `@Cache` methods (priority PERFORMANCE). `new CachePlugin()` keeps
 * entries in memory; `new CachePlugin(new RedisCacheAdapter({ url }))` in Redis.
 */
class CachePlugin {
  /** @param {MemoryCacheAdapter | RedisCacheAdapter} [adapter] */
  constructor(adapter) {
    if (adapter === undefined || adapter === null) adapter = new MemoryCacheAdapter()
    if (!(adapter instanceof MemoryCacheAdapter || adapter instanceof RedisCacheAdapter)) {
      throw new TypeError(
        'CachePlugin(adapter?): adapter must be a MemoryCacheAdapter or a RedisCacheAdapter (the cache runs in Rust: custom adapters are not supported)',
      )
    }
    this.name = /** @type {const} */ ('cache-plugin')
    this.priority = PluginPriority.PERFORMANCE
    this.adapter = adapter
    this.options = adapter._native()
    this._modules = new Map()
    this._wrappers = []
  }

  getModuleOptionsSchema() {
    return {
      _type: {},
      validate(o) {
        const opts = o || {}
        for (const name of ['cacheDefaultTtl', 'cacheCleanupInterval']) {
          const v = opts[name]
          if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= MAX_TTL)) return `${name} must be >= 0`
        }
        if (opts.cacheEnabled !== undefined && typeof opts.cacheEnabled !== 'boolean') return 'cacheEnabled must be a boolean'
        return true
      },
    }
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m]))
  }

  onHandlerLoad(handlers) {
    this._wrappers = []
    const routed = methodsWith(handlers, 'route')
    const done = new Map()
    for (const h of handlers) {
      if (h.type !== 'cache') continue
      const where = `${h.module.name}.${String(h.methodName)}`
      if (!done.has(h.module)) done.set(h.module, new Set())
      if (done.get(h.module).has(h.methodName)) throw new TypeError(`@Cache is applied twice to ${where}`)
      done.get(h.module).add(h.methodName)
      const opts = h.options || {}
      checkCacheOptions(opts, `@Cache on ${where}`)
      const mod = this._modules.get(h.module)
      const modOpts = mod?.options || {}
      if (!(opts.enabled ?? modOpts.cacheEnabled ?? true)) continue
      const ttl = Math.floor(opts.ttl ?? modOpts.cacheDefaultTtl ?? DEFAULT_TTL)
      const moduleName = mod ? mod.name : h.module.name
      const layerOptions = { module: moduleName, method: String(h.methodName), ttl }
      const prefix = `${moduleName}:${String(h.methodName)}:`
      const keyFn = opts.key
      if (keyFn) {
        // A key function can't run in Rust: the lookup happens in JS (route
        // requests included: they get `(ctx)`). The native layer only lends its store.
        const native = nativeLayer(this, 'cache', this.options, { ...layerOptions, http: false })
        const call = (op, arg) => this._callOn(native, op, arg)
        h.wrap(native)
        h.wrap((next, _instance, ...args) => this._cached(next, ttl, prefix, () => keyFn(...args), call))
        this._wrappers.push(native)
      } else {
        const http = Boolean(routed.get(h.module)?.has(h.methodName))
        const native = nativeLayer(
          this,
          'cache',
          this.options,
          { ...layerOptions, http },
          {
            direct: (next, _instance, args, call) => this._cached(next, ttl, prefix, () => args, call),
          },
        )
        h.wrap(native)
        this._wrappers.push(native)
      }
    }
  }

  /** Redis: connect before serving (a failure only warns: requests then skip the cache). */
  async onBeforeStart() {
    if (this.options.store !== 'redis') return
    const ok = await this._call('connect', {})
    if (ok === false) console.warn('[nebula] CachePlugin: Redis is unreachable; requests go without the cache until it answers')
  }

  /** Memory: entries are dropped. Redis: entries stay (shared); pending writes are awaited. */
  async onDestroy() {
    await this._call(this.options.store === 'redis' ? 'flush' : 'clear', {})
  }

  /** Removes every entry (with Redis: every key under the prefix, for all processes). */
  async clear() {
    await this._call('clear', {})
  }

  /** Removes one entry by its full key (`module:method:hash`); true if it existed. */
  async delete(key) {
    if (typeof key !== 'string' || key === '') throw new TypeError('CachePlugin.delete(key) needs a key string')
    return (await this._call('delete', { key })) === true
  }

  /** Resolves once the Redis writes started so far are done (memory: at once). */
  async flush() {
    await this._call('flush', {})
  }

  /**
   * nebula-engine's `getStats()`: `{ size, entries: [{ key, createdAt, expiresAt }] }`, the fresh
   * entries oldest first, route replies included (listed by the store in Rust; at most 100 000).
   * Empty before the engine loaded its `@Cache` methods (the store comes with them).
   * @returns {Promise<import('../../index').CacheStats>}
   */
  async getStats() {
    return (await this._call('stats', {})) ?? { size: 0, entries: [] }
  }

  /** An operation on any layer of this plugin (they share one store); undefined before the engine loaded. */
  _call(op, arg) {
    for (const w of this._wrappers) {
      const bound = nativeSpec(w).bound
      if (bound && bound.layer !== null) return bound.native.layerCall(bound.layer, op, arg)
    }
    return Promise.resolve(undefined)
  }

  _callOn(wrapper, op, arg) {
    const bound = nativeSpec(wrapper).bound
    if (!bound || bound.layer === null) return Promise.resolve(null)
    return bound.native.layerCall(bound.layer, op, arg)
  }

  /** Get, or run and set: the result as JSON text under `prefix` + the hash of the key material. */
  async _cached(next, ttl, prefix, materialOf, call) {
    if (ttl === 0) return next()
    // A key function's error is the caller's (it rejects the call)… (an async one is awaited)
    const material = await materialOf()
    let key
    try {
      key = cacheKey(prefix, material)
    } catch {
      // …arguments that can't be keyed (circular) just skip the cache.
      return next()
    }
    const hit = await call('get', { key }).catch(() => null)
    if (typeof hit === 'string') {
      try {
        return JSON.parse(hit)
      } catch {
        // Not ours: run the method.
      }
    }
    const result = await next()
    const json = storedJson(result)
    if (json !== undefined) await call('set', { key, value: json }).catch(() => {})
    return result
  }
}

module.exports = { CachePlugin, Cache, MemoryCacheAdapter, RedisCacheAdapter, cacheKey }
