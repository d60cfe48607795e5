'use strict'

// Looking at what user code threw or returned, without being hurt by it.
//
// A handler, hook, plugin or stream can throw anything: a null-prototype
// object (String() throws on it), a revoked Proxy (`instanceof` throws), an
// Error whose `message` getter throws, a thenable whose `then` getter throws.
// The error path runs inside catch blocks and promise callbacks, often under a
// native callback: if it threw there, the exception would be uncaught and
// Node would exit. Nothing in this file throws, whatever it is given.

const UNDESCRIBED = 'the handler failed with a value that cannot be described'

/** A message for `err`: its `message` if it is an Error, itself if a string, else String(err). */
function messageOf(err) {
  try {
    if (typeof err === 'string') return err
    if (err instanceof Error) {
      const m = err.message
      return typeof m === 'string' ? m : String(m)
    }
    return String(err)
  } catch {
    return UNDESCRIBED
  }
}

/** `err.status` (or `statusCode`) when it is an error status (400–599), else 500. */
function statusOf(err) {
  try {
    if (err === null || err === undefined) return 500
    const s = err.status ?? err.statusCode
    return Number.isInteger(s) && s >= 400 && s <= 599 ? s : 500
  } catch {
    return 500
  }
}

/** `v.then` when `v` is a thenable, else undefined. Throws what reading `then` throws. */
function thenOf(v) {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return undefined
  const then = v.then
  return typeof then === 'function' ? then : undefined
}

/**
 * Calls `ok(value)` once `v` has a value (at once when it is no thenable) or
 * `fail(err)` when it fails, reading `then` included. Never throws, as long
 * as `ok` and `fail` don't.
 */
function settle(v, ok, fail) {
  let then
  try {
    then = thenOf(v)
  } catch (err) {
    fail(err)
    return
  }
  if (then === undefined) {
    ok(v)
    return
  }
  try {
    // Promise.resolve takes care of thenables that misbehave (a `then` that
    // throws, calls back twice or both ways).
    Promise.resolve(v).then(ok, fail)
  } catch (err) {
    // A real promise whose `constructor` getter throws.
    fail(err)
  }
}

/** console.error(label, err), falling back to the message when `err` cannot be inspected. */
function logError(label, err) {
  try {
    console.error(label, err)
  } catch {
    try {
      console.error(label, messageOf(err))
    } catch {
      // A console that throws: nothing left to tell it with.
    }
  }
}

module.exports = { messageOf, statusOf, thenOf, settle, logError }
