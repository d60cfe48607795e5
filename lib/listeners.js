'use strict'

// Calling user listeners from a native drain: a listener that throws or
// rejects is logged, never allowed to escape (an exception in a native
// callback would be uncaught).

/** Calls `fn(...args)`; a throw or a rejection is logged under `label`. */
function callListener(fn, args, label) {
  try {
    const out = fn(...args)
    if (out && typeof out.then === 'function') out.then(undefined, (err) => console.error(`${label} failed:`, err))
  } catch (err) {
    console.error(`${label} failed:`, err)
  }
}

module.exports = { callListener }
