'use strict'

// DynamicConfigPlugin (nebula-engine's dynamic config): `@Config` fields of
// module instances become getters reading, in order, the config store, the
// environment variable named after the key (kebab-case → UPPER_SNAKE_CASE,
// JSON-parsed when it parses) and the field's defaultValue. The store is the
// engine's coordination layer (in process, Redis or NATS KV; nebula's
// `useMockEtcd` is an in-process store of this plugin's own), so a change
// made on one node reaches every node, where the getters see it and
// `onChange(newValue, oldValue)` runs. nebula's `etcdClient` (a client the
// user brings) works too (./etcd-storage.js). Keys: `{service}/{module}/{key}`,
// stored under `{etcdPrefix}/`.

const { PluginPriority } = require('../../priority')
const { checkKeys, isPlainObject } = require('../coordinator')
const { logError, messageOf } = require('../../fault')
const { configFieldsOf, checkConfigOptions } = require('./decorator')
const { createStorage } = require('./storage')
const { EtcdConfigStorage, checkEtcdClient } = require('./etcd-storage')

const WHO = 'DynamicConfigPlugin'
const MASK = '***'

/** `max-connections` → `MAX_CONNECTIONS`. @param {string} key */
function keyToEnvName(key) {
  return key.toUpperCase().replace(/-/g, '_')
}

/** The environment variable's value, JSON-parsed when it parses; undefined when unset. @param {string} name */
function envValue(name) {
  const raw = process.env[name]
  if (raw === undefined) return undefined
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/** A zod error as one line: `path: message; …`. @param {any} error */
function issuesOf(error) {
  if (Array.isArray(error?.issues)) {
    return error.issues.map((/** @type {any} */ i) => `${Array.isArray(i.path) && i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ')
  }
  return messageOf(error)
}

/** @param {unknown} v */
const present = (v) => v !== undefined && v !== null

class DynamicConfigPlugin {
  /** @param {import('../../../index').DynamicConfigPluginOptions} [options] */
  constructor(options = {}) {
    if (!isPlainObject(options)) throw new TypeError(`${WHO}: options must be an object`)
    checkKeys(options, ['etcdClient', 'useMockEtcd', 'etcdPrefix', 'enablePersistence', 'mysql', 'syncInterval', 'coordinator'], WHO)
    const { etcdClient, useMockEtcd, etcdPrefix = '/config', coordinator } = options
    if (useMockEtcd !== undefined && typeof useMockEtcd !== 'boolean') throw new TypeError(`${WHO}: useMockEtcd must be a boolean`)
    if (typeof etcdPrefix !== 'string' || etcdPrefix === '' || Buffer.byteLength(etcdPrefix) > 200) {
      throw new TypeError(`${WHO}: etcdPrefix must be a non-empty string of at most 200 bytes, got ${JSON.stringify(etcdPrefix)}`)
    }
    if (useMockEtcd && coordinator !== undefined) throw new TypeError(`${WHO}: give useMockEtcd or coordinator, not both`)
    const etcd = etcdClient !== undefined && !useMockEtcd
    if (etcd && coordinator !== undefined) throw new TypeError(`${WHO}: give etcdClient or coordinator, not both`)
    if (etcd) checkEtcdClient(etcdClient, WHO)
    if (options.enablePersistence)
      throw new TypeError(`${WHO}: enablePersistence (MySQL) is not supported; the coordinator's store (Redis, NATS KV) keeps the values`)
    this.name = /** @type {const} */ ('dynamic-config-plugin')
    this.priority = PluginPriority.BUSINESS
    this.etcdPrefix = etcdPrefix
    // useMockEtcd, or no coordinator: a store of this plugin's own, as nebula's MemoryConfigStorage.
    this.storage = etcd
      ? new EtcdConfigStorage(etcdClient, etcdPrefix)
      : createStorage({ coordinator, isolated: coordinator === undefined, prefix: etcdPrefix }, WHO)
    this.options = Object.freeze({ ...options, etcdPrefix })
    /** @type {any} */
    this._engine = undefined
    /** configKey → { options, field } of this engine's @Config fields. */
    this._fields = new Map()
    /** configKey → unwatch */
    this._unwatch = new Map()
    /** configKey → { value, ok, data }: the last schema check of a value. */
    this._checked = new Map()
  }

  getModuleOptionsSchema() {
    return { _type: {}, validate: () => true }
  }

  onInit(engine) {
    this._engine = engine
  }

  /** `{service}/{module}/{key}`. */
  _configKey(moduleName, key) {
    return `${this._engine.options.name}/${moduleName}/${key}`
  }

  /**
   * `value` checked by the field's schema: its parsed output, or `undefined`
   * when it fails (logged once per failing value).
   */
  _valid(configKey, opts, value) {
    if (!opts.schema || !present(value)) return value
    const memo = this._checked.get(configKey)
    if (memo && memo.value === value) return memo.ok ? memo.data : undefined
    const r = opts.schema.safeParse(value)
    this._checked.set(configKey, { value, ok: r.success, data: r.data })
    if (!r.success) logError(`[nebula] ${WHO}: the value of ${configKey} does not match its schema; ignored:`, opts.sensitive ? MASK : issuesOf(r.error))
    return r.success ? r.data : undefined
  }

  /** store > environment > defaultValue, each only when it matches the schema. */
  _current(configKey, opts) {
    const stored = this._valid(configKey, opts, this.storage.getCached(configKey))
    if (present(stored)) return stored
    const fromEnv = this._valid(`env:${configKey}`, opts, envValue(keyToEnvName(opts.key)))
    if (present(fromEnv)) return fromEnv
    return opts.defaultValue
  }

  /** Loads every @Config field, makes it a getter, and watches the ones with onChange. */
  async onAfterStart() {
    const engine = this._engine
    for (const mod of engine.getModules()) {
      const instance = engine.get(mod.clazz)
      for (const [field, opts] of configFieldsOf(instance)) {
        checkConfigOptions(opts, `@Config on ${mod.name}.${String(field)}`)
        const configKey = this._configKey(mod.name, opts.key)
        this._fields.set(configKey, { options: opts, field })
        let stored
        try {
          stored = await this.storage.get(configKey)
        } catch (err) {
          throw new Error(`${WHO}: cannot read ${configKey} from the config store: ${messageOf(err)}`)
        }
        if (!present(stored)) {
          // Written so every node (and onChange's oldValue) starts from it; only if still absent.
          const value = this._current(configKey, opts)
          if (present(value)) {
            try {
              await this.storage.create(configKey, value)
            } catch (err) {
              logError(`[nebula] ${WHO}: cannot write the initial value of ${configKey}:`, err)
            }
          }
        }
        this.storage.track(configKey)
        Object.defineProperty(instance, field, {
          get: () => this._current(configKey, opts),
          enumerable: true,
          configurable: true,
        })
      }
    }
    try {
      await this.storage.startWatching()
    } catch (err) {
      throw new Error(`${WHO}: cannot watch the config store: ${messageOf(err)}`)
    }
    for (const [configKey, { options: opts }] of this._fields) {
      if (!opts.onChange || this._unwatch.has(configKey)) continue
      const unwatch = this.storage.watch(configKey, async (newValue, oldValue) => {
        // A value failing the schema is not this field's value (logged by the check).
        if (present(newValue) && this._valid(configKey, opts, newValue) === undefined) return
        const shown = (v) => (opts.sensitive ? MASK : v)
        console.info(`[nebula] ${WHO}: config ${configKey} changed`, {
          sensitive: opts.sensitive ?? false,
          oldValue: shown(oldValue),
          newValue: shown(newValue),
        })
        try {
          await opts.onChange(newValue, oldValue)
        } catch (err) {
          logError(`[nebula] ${WHO}: onChange of ${configKey} failed:`, err)
        }
      })
      this._unwatch.set(configKey, unwatch)
    }
  }

  /** Stops watching and drops the connection; the store stays usable (setConfig connects again). */
  async onDestroy() {
    for (const unwatch of this._unwatch.values()) unwatch()
    this._unwatch.clear()
    await this.storage.destroy()
    this.storage.close()
  }

  /** The stored value of `key` (`{service}/{module}/{key}`), null when absent. */
  async getConfig(key) {
    return this.storage.get(key)
  }

  /** The value this node last saw for `key`, without asking the store. */
  getConfigCached(key) {
    return this.storage.getCached(key)
  }

  /** Writes `value` for every node; a value failing its @Config schema is refused (TypeError). */
  async setConfig(key, value, metadata) {
    if (typeof key !== 'string' || key === '') throw new TypeError(`${WHO}: setConfig(key, value) needs a non-empty key`)
    const known = this._fields.get(key)
    if (known?.options.schema && present(value)) {
      const r = known.options.schema.safeParse(value)
      if (!r.success) {
        throw new TypeError(`${WHO}: ${key}: the value does not match its schema: ${known.options.sensitive ? MASK : issuesOf(r.error)}`)
      }
    }
    await this.storage.set(key, value, metadata)
  }

  async deleteConfig(key) {
    if (typeof key !== 'string' || key === '') throw new TypeError(`${WHO}: deleteConfig(key) needs a non-empty key`)
    await this.storage.delete(key)
  }

  /** Every stored value under `prefix` (all when omitted), as a Map keyed `{service}/{module}/{key}`. */
  async getAllConfigs(prefix) {
    return this.storage.getAll(prefix)
  }

  /** Calls `callback(newValue, oldValue)` on each change of `key`, by any node; returns the unwatch function. */
  watchConfig(key, callback) {
    if (typeof callback !== 'function') throw new TypeError(`${WHO}: watchConfig(key, callback) needs a function`)
    return this.storage.watch(key, callback)
  }
}

module.exports = { DynamicConfigPlugin, keyToEnvName }
