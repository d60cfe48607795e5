'use strict'

// Waiting with a bound, for shutdown paths that must end: an onDestroy hook,
// scheduled jobs still running at stop().

/** The longest delay setTimeout keeps (a longer one fires at once). */
const MAX_DELAY = 2 ** 31 - 1

/** What withinLimit() resolves to when `ms` passed first. */
const GAVE_UP = Symbol('gave up')

/**
 * What `run()` settles to (a rejection rejects), or GAVE_UP after `ms`
 * (at most MAX_DELAY). The timer does not keep Node alive.
 * @param {() => unknown} run
 * @param {number} ms
 * @returns {Promise<unknown>}
 */
function withinLimit(run, ms) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(GAVE_UP), Math.max(0, Math.min(ms, MAX_DELAY)))
    timer.unref()
  })
  return Promise.race([Promise.resolve().then(run), late]).finally(() => clearTimeout(timer))
}

module.exports = { withinLimit, GAVE_UP, MAX_DELAY }
