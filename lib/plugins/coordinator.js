'use strict'

// The `coordinator` option of SchedulePlugin and ConcurrencyLockPlugin:
// where leases live (crates/nebula-core/src/coord/). Checked in Rust (errors name the option);
// nothing connects until the first lease operation.

const os = require('node:os')
const crypto = require('node:crypto')
const binding = require('../native')

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * A NativeCoordinator for `{ type: 'local' } | { type: 'redis', url, prefix?,
 * timeoutMs? } | { type: 'nats', url, bucket?, prefix?, timeoutMs? }`.
 * `defaultTimeoutMs` applies when the option leaves timeoutMs out (remote only).
 */
function createCoordinator(options, who, defaultTimeoutMs) {
  const opts = options === undefined ? { type: 'local' } : options
  if (!isPlainObject(opts)) {
    throw new TypeError(`${who}: coordinator must be { type: 'local' | 'redis' | 'nats', url?, prefix?, bucket?, timeoutMs? }`)
  }
  const native = { ...opts }
  if (native.type !== 'local' && native.type !== undefined && native.timeoutMs === undefined && defaultTimeoutMs !== undefined) {
    native.timeoutMs = defaultTimeoutMs
  }
  try {
    return { native: new binding.NativeCoordinator(native), type: native.type ?? 'local', options: Object.freeze({ ...opts }) }
  } catch (err) {
    throw new TypeError(`${who}: ${err.message}`)
  }
}

/** `host:pid:random`: unique per process, readable in lease values and logs. */
function defaultNodeId() {
  return `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`
}

function checkIdString(v, name, who) {
  if (typeof v !== 'string' || v === '' || Buffer.byteLength(v) > 200) {
    throw new TypeError(`${who}: ${name} must be a non-empty string of at most 200 bytes, got ${JSON.stringify(v)}`)
  }
}

function checkKeys(options, allowed, who) {
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) throw new TypeError(`${who}: unknown option ${JSON.stringify(k)}`)
  }
}

/** An integer number of ms in [min, max] (setTimeout's limit by default). */
function checkMs(v, name, min, who, max = 2 ** 31 - 1) {
  if (!(Number.isSafeInteger(v) && v >= min && v <= max)) {
    throw new TypeError(`${who}: ${name} must be an integer number of milliseconds from ${min} to ${max}, got ${JSON.stringify(v)}`)
  }
}

module.exports = { createCoordinator, defaultNodeId, checkIdString, checkKeys, checkMs, isPlainObject }
