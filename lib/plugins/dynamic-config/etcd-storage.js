'use strict'

// nebula-engine's `etcdClient` option: the plugin's storage over a client the
// user brings (the etcd3 package's `Etcd3`, or anything with the same
// methods: get(k).string(), put(k).value(v), delete().key(k),
// getAll().prefix(p).strings(), watch().key(k).create()). Values are EJSON
// text under `{etcdPrefix}/{key}`, as nebula writes them. etcd watches are
// per key here (the interface nebula names has no prefix watch): one for
// each @Config field and each watchConfig key.

const { logError, messageOf } = require('../../fault')
const { encode, decode, readInto } = require('./storage')

/** @param {unknown} client */
function checkEtcdClient(client, who) {
  const c = /** @type {any} */ (client)
  const missing = ['get', 'put', 'delete', 'getAll', 'watch'].filter((m) => typeof c?.[m] !== 'function')
  if (missing.length > 0) {
    throw new TypeError(`${who}: etcdClient must be an etcd3 client (an Etcd3 instance); it has no ${missing.join(', ')}`)
  }
}

class EtcdConfigStorage {
  /** @param {any} client @param {string} prefix */
  constructor(client, prefix) {
    this._client = client
    this._prefix = prefix
    /** @type {Map<string, unknown>} */
    this._cache = new Map()
    /** key → { callbacks, watcher: Promise<any> } */
    this._watches = new Map()
    /** Keys whose value the getters read: watched from startWatching on. */
    this._tracked = new Set()
    this._started = false
  }

  /** @param {string} key */
  _full(key) {
    return `${this._prefix}/${key}`
  }

  async get(key) {
    const text = await this._client.get(this._full(key)).string()
    return readInto(this._cache, key, text == null || text.trim() === '' ? null : text)
  }

  getCached(key) {
    return this._cache.get(key)
  }

  async set(key, value, _metadata) {
    const text = encode(value, key)
    await this._client.put(this._full(key)).value(text)
    this._cache.set(key, value)
  }

  /** Writes only if absent (read, then write: the interface has no transaction). */
  async create(key, value) {
    if ((await this.get(key)) !== null) return false
    await this.set(key, value)
    return true
  }

  async delete(key) {
    await this._client.delete().key(this._full(key))
    this._cache.delete(key)
  }

  async getAll(prefix) {
    const found = await this._client
      .getAll()
      .prefix(prefix ? this._full(prefix) : `${this._prefix}/`)
      .strings()
    const out = new Map()
    const strip = this._prefix.length + 1
    for (const [k, text] of Object.entries(found ?? {})) {
      try {
        const v = decode(/** @type {string} */ (text))
        out.set(k.slice(strip), v)
        this._cache.set(k.slice(strip), v)
      } catch (err) {
        logError(`[nebula] DynamicConfigPlugin: the stored value of ${k} is not EJSON; skipped:`, err)
      }
    }
    return out
  }

  /** A key the getters read: its changes update the cache once watching starts. */
  track(key) {
    this._tracked.add(key)
    if (this._started) this._ensure(key)
  }

  /** @param {string} key */
  _ensure(key) {
    let w = this._watches.get(key)
    if (w) return w
    w = { callbacks: new Set(), watcher: null }
    const entry = w
    this._watches.set(key, entry)
    entry.watcher = Promise.resolve()
      .then(() => this._client.watch().key(this._full(key)).create())
      .then((watcher) => {
        if (this._watches.get(key) !== entry) {
          watcher.cancel()
          return watcher
        }
        watcher.on('put', (/** @type {{ value: Buffer }} */ kv) => this._changed(key, entry, kv.value.toString()))
        watcher.on('delete', () => this._changed(key, entry, null))
        return watcher
      })
    return entry
  }

  /** @param {string} key @param {any} entry @param {string | null} text */
  _changed(key, entry, text) {
    if (this._watches.get(key) !== entry) return
    let value = null
    try {
      value = text === null || text.trim() === '' ? null : decode(text)
    } catch (err) {
      logError(`[nebula] DynamicConfigPlugin: a change of ${key} is not EJSON; ignored:`, err)
      return
    }
    const old = this._cache.get(key)
    if (value === null) this._cache.delete(key)
    else this._cache.set(key, value)
    for (const cb of [...entry.callbacks]) {
      try {
        const out = cb(value, old)
        if (out && typeof out.then === 'function')
          out.then(undefined, (/** @type {unknown} */ err) => logError(`[nebula] DynamicConfigPlugin: watch callback of ${key} failed:`, err))
      } catch (err) {
        logError(`[nebula] DynamicConfigPlugin: watch callback of ${key} failed:`, err)
      }
    }
  }

  watch(key, callback) {
    const entry = this._ensure(key)
    entry.callbacks.add(callback)
    entry.watcher.catch((/** @type {unknown} */ err) => logError(`[nebula] DynamicConfigPlugin: cannot watch ${key} in etcd:`, messageOf(err)))
    return () => {
      entry.callbacks.delete(callback)
    }
  }

  /** Watches every tracked key; resolves once etcd accepted the watches. */
  async startWatching() {
    this._started = true
    await Promise.all([...this._tracked].map((k) => this._ensure(k).watcher))
  }

  async destroy() {
    const watches = [...this._watches.values()]
    this._watches.clear()
    this._started = false
    this._cache.clear()
    await Promise.all(
      watches.map((w) =>
        w.watcher.then(
          (/** @type {any} */ watcher) => watcher.cancel(),
          () => {},
        ),
      ),
    )
  }

  /** The client is the user's: left open. */
  close() {}
}

module.exports = { EtcdConfigStorage, checkEtcdClient }
