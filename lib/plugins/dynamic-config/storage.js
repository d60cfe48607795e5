'use strict'

// nebula-engine's ConfigStorage over the engine's config store
// (crates/nebula-core/src/coord/config_*.rs: in process, Redis or NATS KV).
// Values are EJSON text under `{etcdPrefix}/{key}`, as nebula writes them to
// etcd. One native watch on `{etcdPrefix}/` feeds a cache (what the
// decorated fields read, synchronously) and the per-key callbacks; a change
// made by this node updates the cache at once, its echo from the watch
// does not undo a newer write of this node.

const ejson = require('ejson')
const binding = require('../../native')
const { logError, messageOf } = require('../../fault')

/** Writes of one key whose echo is awaited, at most. */
const MAX_OWN = 64

/** @param {unknown} value */
function encode(value, key) {
  let text
  try {
    text = ejson.stringify(value)
  } catch (err) {
    throw new TypeError(`DynamicConfigPlugin: the value of ${JSON.stringify(key)} cannot be written as EJSON: ${messageOf(err)}`)
  }
  if (typeof text !== 'string') throw new TypeError(`DynamicConfigPlugin: the value of ${JSON.stringify(key)} cannot be written (got ${String(value)})`)
  return text
}

/** @param {string} text */
function decode(text) {
  return text.trim() === '' ? null : ejson.parse(text)
}

/**
 * The value of a stored text (null: absent), kept in `cache` as this node's
 * last-seen value of `key`; an absent key is forgotten.
 * @param {Map<string, unknown>} cache @param {string} key @param {string | null | undefined} text
 */
function readInto(cache, key, text) {
  if (text == null) {
    cache.delete(key)
    return null
  }
  const value = decode(text)
  cache.set(key, value)
  return value
}

class NativeConfigStorage {
  /**
   * @param {import('../../../binding').NativeConfigStore} native
   * @param {string} prefix etcdPrefix (keys are `${prefix}/${key}`)
   */
  constructor(native, prefix) {
    this._native = native
    this._prefix = prefix
    /** @type {Map<string, unknown>} */
    this._cache = new Map()
    /** @type {Map<string, Set<(newValue: unknown, oldValue: unknown) => void>>} */
    this._watchers = new Map()
    /** key → texts this node wrote whose echo has not come back (null: a delete). */
    this._own = new Map()
    this._watch = null
    this._watchStarted = null
  }

  /** @param {string} key */
  _full(key) {
    return `${this._prefix}/${key}`
  }

  /** @param {string} key @param {string | null} text */
  _wrote(key, text) {
    // Without a watch no echo comes back: nothing to wait for.
    if (!this._watch) return
    const q = this._own.get(key) ?? []
    q.push(text)
    // An echo lost (a write made while the watch was starting): bounded all the same.
    if (q.length > MAX_OWN) q.shift()
    this._own.set(key, q)
  }

  /** @param {string} key @param {string | null} text */
  _forget(key, text) {
    const q = this._own.get(key)
    const i = q ? q.indexOf(text) : -1
    if (i >= 0) q.splice(i, 1)
    if (q && q.length === 0) this._own.delete(key)
  }

  /** The stored value of `key`, null when absent (a backend failure rejects). */
  async get(key) {
    return readInto(this._cache, key, await this._native.get(this._full(key)))
  }

  /** The value this node last saw for `key` (undefined when none), without the store. */
  getCached(key) {
    return this._cache.get(key)
  }

  async set(key, value, _metadata) {
    const text = encode(value, key)
    this._wrote(key, text)
    try {
      await this._native.set(this._full(key), text)
    } catch (err) {
      this._forget(key, text)
      throw err
    }
    this._cache.set(key, value)
  }

  /** Writes `value` only if `key` has none; true when written. */
  async create(key, value) {
    const text = encode(value, key)
    this._wrote(key, text)
    let created = false
    try {
      created = await this._native.create(this._full(key), text)
    } finally {
      if (!created) this._forget(key, text)
    }
    if (created) this._cache.set(key, value)
    return created
  }

  async delete(key) {
    this._wrote(key, null)
    let deleted = false
    try {
      deleted = await this._native.delete(this._full(key))
    } finally {
      if (!deleted) this._forget(key, null)
    }
    this._cache.delete(key)
  }

  /** Every value under `prefix` (all when omitted), keyed without etcdPrefix. */
  async getAll(prefix) {
    const listed = await this._native.list(prefix ? this._full(prefix) : `${this._prefix}/`)
    const out = new Map()
    const strip = this._prefix.length + 1
    for (const { key, value } of listed) {
      try {
        const v = decode(value)
        out.set(key.slice(strip), v)
        this._cache.set(key.slice(strip), v)
      } catch (err) {
        logError(`[nebula] DynamicConfigPlugin: the stored value of ${key} is not EJSON; skipped:`, err)
      }
    }
    return out
  }

  /**
   * Calls `callback(newValue, oldValue)` on each change of `key` (by any
   * node; newValue null when deleted) until the returned function is called.
   */
  watch(key, callback) {
    const set = this._watchers.get(key) ?? new Set()
    set.add(callback)
    this._watchers.set(key, set)
    this.startWatching().catch((err) => logError('[nebula] DynamicConfigPlugin: cannot watch the config store:', err))
    return () => {
      const s = this._watchers.get(key)
      if (!s) return
      s.delete(callback)
      if (s.size === 0) this._watchers.delete(key)
    }
  }

  /** A key the getters read (the prefix watch covers it already). */
  track(_key) {}

  /** Starts the native watch (once); resolves when changes made from now on are seen. */
  startWatching() {
    if (!this._watchStarted) {
      const watch = this._native.watcher(`${this._prefix}/`, () => this._drain())
      this._watch = watch
      this._watchStarted = watch.start().catch((err) => {
        if (this._watch === watch) {
          this._watch = null
          this._watchStarted = null
        }
        throw err
      })
    }
    return this._watchStarted
  }

  _drain() {
    const watch = this._watch
    if (!watch) return
    const { changes, lagged } = watch.take()
    const strip = this._prefix.length + 1
    // A missing value or old value comes as undefined (napi's None).
    for (const c of changes) this._apply(c.key.slice(strip), c.value ?? null, c.old ?? null)
    if (lagged) this._resync()
  }

  /** @param {string} key @param {string | null} text @param {string | null} oldText */
  _apply(key, text, oldText) {
    let value
    let old
    try {
      value = text === null ? null : decode(text)
      old = oldText === null ? undefined : decode(oldText)
    } catch (err) {
      logError(`[nebula] DynamicConfigPlugin: a change of ${key} is not EJSON; ignored:`, err)
      return
    }
    const own = this._own.get(key)
    let newer = false
    if (own && own[0] === text) {
      own.shift()
      newer = own.length > 0
      if (!newer) this._own.delete(key)
    }
    // This node's own echo, with a newer write of this node on its way: the cache keeps the newer.
    if (!newer) {
      if (value === null) this._cache.delete(key)
      else this._cache.set(key, value)
    }
    this._notify(key, value, old)
  }

  _notify(key, value, old) {
    const callbacks = this._watchers.get(key)
    if (!callbacks) return
    for (const cb of [...callbacks]) {
      try {
        const out = /** @type {any} */ (cb(value, old))
        if (out && typeof out.then === 'function') out.then(undefined, (err) => logError(`[nebula] DynamicConfigPlugin: watch callback of ${key} failed:`, err))
      } catch (err) {
        logError(`[nebula] DynamicConfigPlugin: watch callback of ${key} failed:`, err)
      }
    }
  }

  /** Changes were missed: read everything again (retrying while the store is away), and tell the watchers of what differs. */
  _resync(attempt = 0) {
    const watch = this._watch
    this._native.list(`${this._prefix}/`).then(
      (listed) => {
        if (this._watch !== watch) return
        const strip = this._prefix.length + 1
        const now = new Map()
        for (const { key, value } of listed) {
          try {
            now.set(key.slice(strip), decode(value))
          } catch {
            // Unreadable: left out, as getAll does.
          }
        }
        const before = this._cache
        this._cache = now
        this._own.clear()
        for (const key of new Set([...before.keys(), ...now.keys()])) {
          const a = before.get(key)
          const b = now.get(key)
          if (ejson.equals(/** @type {any} */ (a ?? null), /** @type {any} */ (b ?? null))) continue
          this._notify(key, b ?? null, a)
        }
      },
      (err) => {
        if (this._watch !== watch) return
        const delay = Math.min(5000, 100 * 2 ** attempt)
        logError(`[nebula] DynamicConfigPlugin: cannot read the config store again after missed changes (next try in ${delay} ms):`, messageOf(err))
        setTimeout(() => this._resync(attempt + 1), delay).unref()
      },
    )
  }

  /** Ends the watch and forgets the callbacks and the cache (the store stays usable). */
  async destroy() {
    const watch = this._watch
    this._watch = null
    this._watchStarted = null
    if (watch) watch.stop()
    this._watchers.clear()
    this._cache.clear()
    this._own.clear()
  }

  /** Drops the connection (a later operation connects again). */
  close() {
    this._native.close()
  }
}

/**
 * The storage for DynamicConfigPlugin's options: `useMockEtcd` (this plugin's
 * own in-process store), `coordinator` (`{ type: 'local' }`: the process-wide
 * store; `redis`, `nats`), or nothing (as useMockEtcd).
 */
function createStorage({ coordinator, isolated, prefix }, who) {
  let native
  try {
    native = new binding.NativeConfigStore(coordinator ?? { type: 'local' }, isolated)
  } catch (err) {
    throw new TypeError(`${who}: coordinator: ${messageOf(err)}`)
  }
  return new NativeConfigStorage(native, prefix)
}

module.exports = { NativeConfigStorage, createStorage, encode, decode, readInto }
