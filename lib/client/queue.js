'use strict'

const { TimeoutError } = require('./errors')

/**
 * At most `concurrency` calls at once; the others wait in order. Each call
 * may have a timeout (its AbortSignal is aborted and the call rejects with a
 * TimeoutError).
 */
class RequestQueue {
  /** @param {number} concurrency */
  constructor(concurrency) {
    this.concurrency = Math.max(1, Math.floor(concurrency) || 1)
    this.running = 0
    /** @type {Array<() => void>} */
    this.waiting = []
  }

  /**
   * @template T
   * @param {(signal: AbortSignal) => Promise<T>} fn
   * @param {number | undefined} timeout ms
   * @param {string} url for the error text
   * @returns {Promise<T>}
   */
  async add(fn, timeout, url) {
    if (this.running >= this.concurrency) await new Promise((resolve) => this.waiting.push(() => resolve(undefined)))
    this.running++
    const controller = new AbortController()
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer
    try {
      const call = fn(controller.signal)
      if (!timeout || timeout <= 0) return await call
      const expired = new Promise((_, reject) => {
        timer = setTimeout(() => {
          controller.abort()
          reject(new TimeoutError(`Request timeout for ${url}`))
        }, timeout)
      })
      call.catch(() => {})
      return /** @type {T} */ (await Promise.race([call, expired]))
    } finally {
      clearTimeout(timer)
      this.running--
      this.waiting.shift()?.()
    }
  }
}

module.exports = { RequestQueue }
