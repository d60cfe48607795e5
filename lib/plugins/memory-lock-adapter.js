'use strict'

// MemoryLockAdapter: nebula-engine's in-process lock store, exported for code that uses it
// directly (`acquire` / `release` / `isLocked` / `waitForUnlock`). ConcurrencyLockPlugin does
// not need it: its leases live in Rust (crates/nebula-core/src/coord/), local or shared.
//
// A lock is a key with an expiry time; an expired lock counts as free. waitForUnlock is woken
// by release(), clear() or the lock's expiry, not by polling.

// setTimeout's limit: longer waits are capped (about 24.8 days).
const MAX_TIMER = 2 ** 31 - 1

/** @param {unknown} key @param {string} who */
function checkKey(key, who) {
  if (typeof key !== 'string' || key === '') throw new TypeError(`MemoryLockAdapter.${who}: key must be a non-empty string`)
}

/** @param {unknown} ms @param {string} name @param {string} who */
function checkMs(ms, name, who) {
  if (!(typeof ms === 'number' && ms >= 0 && !Number.isNaN(ms))) {
    throw new TypeError(`MemoryLockAdapter.${who}: ${name} must be a number of milliseconds >= 0, got ${JSON.stringify(ms)}`)
  }
}

class MemoryLockAdapter {
  constructor() {
    /** @type {Map<string, { acquiredAt: number, expiresAt: number }>} */
    this._locks = new Map()
    /** @type {Map<string, Set<() => void>>} key → wake-ups of waitForUnlock calls */
    this._waiters = new Map()
  }

  /** The live lock of `key` (an expired one is dropped). */
  _live(key) {
    const lock = this._locks.get(key)
    if (lock && lock.expiresAt <= Date.now()) {
      this._locks.delete(key)
      return undefined
    }
    return lock
  }

  /** Wakes the waitForUnlock calls on `key` (each one looks again). */
  _wake(key) {
    const waiters = this._waiters.get(key)
    if (waiters) for (const wake of [...waiters]) wake()
  }

  /**
   * Takes `key` for `ttl` ms when it is free (never held, released or expired).
   * @param {string} key @param {number} ttl
   * @returns {Promise<boolean>} true when taken
   */
  async acquire(key, ttl) {
    checkKey(key, 'acquire')
    checkMs(ttl, 'ttl', 'acquire')
    if (this._live(key)) return false
    const now = Date.now()
    this._locks.set(key, { acquiredAt: now, expiresAt: now + ttl })
    return true
  }

  /**
   * Frees `key` (whoever holds it, as nebula-engine's adapter does).
   * @param {string} key
   * @returns {Promise<boolean>} true when it was held
   */
  async release(key) {
    checkKey(key, 'release')
    const held = this._locks.delete(key)
    this._wake(key)
    return held
  }

  /** @param {string} key @returns {Promise<boolean>} true while held and not expired */
  async isLocked(key) {
    checkKey(key, 'isLocked')
    return this._live(key) !== undefined
  }

  /** @param {string} key @returns {Promise<boolean>} true when not held (released, expired or never taken) */
  async isExpired(key) {
    checkKey(key, 'isExpired')
    return this._live(key) === undefined
  }

  /**
   * Waits until `key` is free (released or expired), at most `waitTimeout` ms.
   * `lockTtl` is accepted for nebula-engine's signature; the lock's own expiry is used.
   * @param {string} key @param {number} waitTimeout @param {number} [_lockTtl]
   * @returns {Promise<boolean>} true when free, false when the wait timed out
   */
  waitForUnlock(key, waitTimeout, _lockTtl) {
    try {
      checkKey(key, 'waitForUnlock')
      checkMs(waitTimeout, 'waitTimeout', 'waitForUnlock')
    } catch (err) {
      return Promise.reject(err)
    }
    const deadline = Date.now() + waitTimeout
    return new Promise((resolve) => {
      let timer
      const waiters = this._waiters.get(key) ?? new Set()
      this._waiters.set(key, waiters)
      const finish = (/** @type {boolean} */ free) => {
        clearTimeout(timer)
        waiters.delete(look)
        if (waiters.size === 0 && this._waiters.get(key) === waiters) this._waiters.delete(key)
        resolve(free)
      }
      // Looks at the lock; if still held, sleeps until its expiry or the deadline, whichever is first.
      const look = () => {
        clearTimeout(timer)
        const lock = this._live(key)
        if (!lock) return finish(true)
        const now = Date.now()
        if (now >= deadline) return finish(false)
        timer = setTimeout(look, Math.min(Math.min(lock.expiresAt, deadline) - now, MAX_TIMER))
      }
      waiters.add(look)
      look()
    })
  }

  /** Drops every lock (waiters see their keys free). */
  async clear() {
    this._locks.clear()
    for (const key of [...this._waiters.keys()]) this._wake(key)
  }

  /** The live locks: `{ size, locks: [{ key, expiresAt }] }`. */
  getStats() {
    /** @type {{ key: string, expiresAt: number }[]} */
    const locks = []
    for (const key of [...this._locks.keys()]) {
      const lock = this._live(key)
      if (lock) locks.push({ key, expiresAt: lock.expiresAt })
    }
    return { size: locks.length, locks }
  }
}

module.exports = { MemoryLockAdapter }
