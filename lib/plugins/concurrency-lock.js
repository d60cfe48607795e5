'use strict'

// ConcurrencyLockPlugin: a `@ConcurrencyLock` method runs for one caller at
// a time per key, across every node sharing the coordinator (in process by
// default, Redis or NATS KV for several processes). The lock is a lease
// (crates/nebula-core/src/coord/) with a random owner token: released (compare-and-delete) in
// `finally`, and its TTL (`timeout`) frees it when the holder died.

const crypto = require('node:crypto')
const { performance } = require('node:perf_hooks')
const { Handler } = require('../decorators')
const { HttpError } = require('../errors')
const { cacheKey } = require('./cache')
const { createCoordinator, checkKeys, checkMs, isPlainObject } = require('./coordinator')

const DEFAULT_TIMEOUT = 30_000
/** Polling while waiting for a lock: from the first to the last delay, doubling. */
const POLL_FIRST = 10
const POLL_MAX = 200

/** The lock is held by another call (HTTP 409 on a route). */
class ConcurrencyLockError extends HttpError {
  constructor(key, waitedMs) {
    super(409, `the lock ${JSON.stringify(key)} is held by another call${waitedMs > 0 ? ` (waited ${waitedMs} ms)` : ''}`)
    this.name = 'ConcurrencyLockError'
    this.key = key
  }
}

function checkLockOptions(options, who) {
  if (!isPlainObject(options)) throw new TypeError(`${who}: options must be an object { key?, timeout?, waitMs? }`)
  checkKeys(options, ['key', 'timeout', 'waitMs'], who)
  const { key, timeout, waitMs } = options
  if (key !== undefined && typeof key !== 'function' && !(typeof key === 'string' && key !== '' && Buffer.byteLength(key) <= 400)) {
    throw new TypeError(`${who}: key must be a non-empty string (at most 400 bytes) or a function (...args) => string`)
  }
  if (timeout !== undefined) checkMs(timeout, 'timeout', 1, who)
  if (waitMs !== undefined) checkMs(waitMs, 'waitMs', 0, who)
}

/**
 * One call at a time per key (nebula-engine's `@ConcurrencyLock`):
 * `@ConcurrencyLock({ key: (id) => \`invoice:${id}\`, timeout: 30_000, waitMs: 0 })`.
 */
function ConcurrencyLock(options = {}) {
  checkLockOptions(options, '@ConcurrencyLock')
  return Handler({ type: 'concurrency-lock', options: { ...options } })
}

/** `redis: url | { url, prefix?, timeoutMs? }` as a coordinator option. */
function redisCoordinator(redis, who) {
  if (typeof redis === 'string') return { type: 'redis', url: redis }
  if (!isPlainObject(redis)) throw new TypeError(`${who}: redis must be a URL string or { url, prefix?, timeoutMs? }`)
  checkKeys(redis, ['url', 'prefix', 'timeoutMs'], `${who}: redis`)
  return { type: 'redis', ...redis }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

class ConcurrencyLockPlugin {
  /** @param {import('../../index').ConcurrencyLockPluginOptions} [options] */
  constructor(options = {}) {
    const who = 'ConcurrencyLockPlugin'
    if (!isPlainObject(options)) throw new TypeError(`${who}: options must be an object`)
    checkKeys(options, ['redis', 'coordinator'], who)
    if (options.redis !== undefined && options.coordinator !== undefined) {
      throw new TypeError(`${who}: give redis or coordinator, not both`)
    }
    const coordinator = options.redis !== undefined ? redisCoordinator(options.redis, who) : options.coordinator
    this.name = /** @type {const} */ ('concurrency-lock-plugin')
    this.priority = /** @type {const} */ (500)
    this._coord = createCoordinator(coordinator, who)
    this.options = Object.freeze({ coordinator: this._coord.options })
    this._modules = new Map()
  }

  getModuleOptionsSchema() {
    return {
      _type: {},
      validate(o) {
        const v = o?.concurrencyLockDefaultTimeout
        if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1 && v <= 2 ** 31 - 1)) {
          return 'concurrencyLockDefaultTimeout must be an integer number of milliseconds >= 1'
        }
        return true
      },
    }
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m]))
  }

  onHandlerLoad(handlers) {
    for (const h of handlers) {
      if (h.type !== 'concurrency-lock') continue
      const where = `${h.module.name}.${String(h.methodName)}`
      const opts = h.options || {}
      checkLockOptions(opts, `@ConcurrencyLock on ${where}`)
      const mod = this._modules.get(h.module)
      const base = `${mod ? mod.name : h.module.name}.${String(h.methodName)}`
      const timeout = opts.timeout ?? mod?.options.concurrencyLockDefaultTimeout ?? DEFAULT_TIMEOUT
      const waitMs = opts.waitMs ?? 0
      const keyOf = typeof opts.key === 'function' ? (args) => lockKey(base, opts.key(...args)) : () => opts.key ?? base
      h.wrap(async (next, _instance, ...args) => {
        const key = await keyOf(args)
        const token = crypto.randomUUID()
        await this._acquire(key, token, timeout, waitMs)
        try {
          return await next()
        } finally {
          // Awaited: a caller that goes again right after this one finds the lock free.
          await this._coord.native.release(`lock:${key}`, token).catch((err) => {
            console.warn(`[nebula] ConcurrencyLockPlugin: could not release ${JSON.stringify(key)} (it expires after ${timeout} ms): ${err.message}`)
          })
        }
      })
    }
  }

  /** Takes the lock, retrying for `waitMs`; a coordinator failure refuses the call (503). */
  async _acquire(key, token, timeout, waitMs) {
    const started = performance.now()
    let delay = POLL_FIRST
    for (;;) {
      let got
      try {
        got = await this._coord.native.acquire(`lock:${key}`, token, timeout)
      } catch (err) {
        console.error(`[nebula] ConcurrencyLockPlugin: ${err.message}`)
        throw new HttpError(503, 'the lock service is unavailable', { cause: err })
      }
      if (got) return
      const left = started + waitMs - performance.now()
      if (left <= 0) throw new ConcurrencyLockError(key, waitMs)
      await sleep(Math.min(delay, left))
      delay = Math.min(delay * 2, POLL_MAX)
    }
  }

  onDestroy() {
    this._coord.native.close()
  }
}

/** A key function's result: a string (or number) as is, anything else hashed under the method's name. */
function lockKey(base, v) {
  const resolve = (k) => {
    if (typeof k === 'string' && k !== '' && Buffer.byteLength(k) <= 400) return k
    if (typeof k === 'number' && Number.isFinite(k)) return String(k)
    if (typeof k === 'string') throw new TypeError('@ConcurrencyLock: the key function returned an empty string or one over 400 bytes')
    return cacheKey(`${base}:`, k)
  }
  return v !== null && typeof v === 'object' && typeof v.then === 'function' ? Promise.resolve(v).then(resolve) : resolve(v)
}

module.exports = { ConcurrencyLockPlugin, ConcurrencyLock, ConcurrencyLockError }
