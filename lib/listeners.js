'use strict'

// Calling user listeners from a native drain: a listener that throws or
// rejects is logged, never allowed to escape (an exception in a native
// callback would be uncaught).

const { logError, thenOf } = require('./fault')

/** Calls `fn(...args)`; a throw or a rejection is logged under `label`. */
function callListener(fn, args, label) {
  try {
    const out = fn(...args)
    if (thenOf(out)) Promise.resolve(out).catch((err) => logError(`${label} failed:`, err))
  } catch (err) {
    logError(`${label} failed:`, err)
  }
}

/**
 * The function Rust calls when events wait: `take()` returns them flat,
 * `stride` values each, and `handle(...values)` runs once per event. Never
 * throws: a failure is logged under `label`.
 */
function eventDrainer(take, stride, handle, label) {
  return () => {
    let events
    try {
      events = take()
    } catch (err) {
      logError(`${label} could not take events:`, err)
      return
    }
    for (let i = 0; i < events.length; i += stride) {
      try {
        handle(...events.slice(i, i + stride))
      } catch (err) {
        logError(`${label} event handler failed:`, err)
      }
    }
  }
}

module.exports = { callListener, eventDrainer }
