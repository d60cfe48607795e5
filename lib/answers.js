'use strict'

// Handlers' answers on their way back to Rust, packed for one call
// (`respondBatch`, unpacked by src/binding/answers.rs): per answer four
// numbers (id, status, flags, end of the body in `text`), string bodies
// appended to one string, each followed by a separator, and the rest
// (listed headers, byte bodies) in `extras`. The common headers travel as a
// flag, not as strings.

const { messageOf } = require('./fault')
const { sharedDefinitions } = require('./native')

const JSON_TYPE = 'application/json; charset=utf-8'
const TEXT_TYPE = 'text/plain; charset=utf-8'

/**
 * An answer as it goes back to Rust: status, flat headers [name, value, …], body.
 * @typedef {[status: number, headers: readonly string[], body: string | Uint8Array | null]} Wire
 */

/**
 * Header lists `toWire` returns when the handler set none of its own; sent as a flag.
 * @type {readonly string[]}
 */
const JSON_ONLY = Object.freeze(['content-type', JSON_TYPE])
/** @type {readonly string[]} */
const TEXT_ONLY = Object.freeze(['content-type', TEXT_TYPE])
/** @type {readonly string[]} */
const NO_HEADERS = Object.freeze([])

// How respondBatch() reads an answer (src/binding/answers.rs, handed over by src/binding/shared.rs).
const {
  meta: META,
  headersMask: HEADERS_MASK,
  headersListed: HEADERS_LISTED,
  headersJson: HEADERS_JSON,
  headersNone: HEADERS_NONE,
  headersText: HEADERS_TEXT,
  bodyExtra: BODY_EXTRA,
} = sharedDefinitions().answer

/** Keeps a lone surrogate at the end of one body from pairing with the next. */
const SEPARATOR = '\0'

const INITIAL = 16

/** What `v` is, for a message; never throws (it may be anything a handler returned). */
function describe(v) {
  try {
    if (typeof v === 'string') return JSON.stringify(v)
    if (v === null || v === undefined) return String(v)
    return typeof v === 'object' ? (v.constructor?.name ?? 'object') : `${typeof v} ${String(v)}`
  } catch {
    return typeof v
  }
}

/**
 * The 500 that replaces an answer which cannot be sent, saying why.
 * @param {string} why
 * @returns {Wire}
 */
function unsendable(why) {
  return [500, JSON_ONLY, JSON.stringify({ error: 'Internal server error', message: `the handler's answer could not be sent: ${why}` })]
}

/**
 * Why `wire` cannot be sent, or undefined.
 * @param {unknown} status
 * @param {unknown} headers
 * @param {unknown} body
 */
function problem(status, headers, body) {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 0xffff) return `the status ${describe(status)} is not a number`
  // What HTTP can send as a final answer: three digits, not informational (1xx).
  if (status < 200 || status > 999) return `the status ${status} is not a final HTTP status (200–999)`
  if (!Array.isArray(headers)) return `the headers are ${describe(headers)}, not a list`
  if (body !== null && body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array))
    return `the body is a ${describe(body)}, not a string or bytes`
  return undefined
}

/**
 * `wire` when it can be sent, else the 500 that says why (also for answers
 * that go elsewhere than a batch: a native layer run from the JS chain).
 * Never throws.
 * @param {Wire} wire
 * @returns {Wire}
 */
function sendable(wire) {
  try {
    const why = problem(wire[0], wire[1], wire[2])
    return why === undefined ? wire : unsendable(why)
  } catch (err) {
    return unsendable(messageOf(err))
  }
}

/** A flush happens before the string bodies of one call pass this many UTF-16 units (V8's limit is ~2^29). */
const TEXT_BUDGET = 32 * 1024 * 1024
/** Byte bodies up to this size are copied when added (a handler may reuse its buffer); larger ones are sent at once. */
const COPY_LIMIT = 64 * 1024

class Answers {
  /** @param {import('../binding').NativeEngine} native the engine's binding (`respondBatch`) */
  constructor(native) {
    this.native = native
    /** numbers of the answers added, 4 each */
    this.meta = new Uint32Array(4 * INITIAL)
    /** answers added */
    this.count = 0
    /** the string bodies, each followed by SEPARATOR */
    this.text = ''
    /** `text.length` */
    this.length = 0
    /** @type {(string[] | Buffer)[]} listed headers and byte bodies, in the order Rust reads them */
    this.extras = []
  }

  reset() {
    this.meta = new Uint32Array(META * INITIAL)
    this.count = 0
    this.text = ''
    this.length = 0
    this.extras = []
  }

  /**
   * Adds `wire` ([status, flat headers, body]) as the answer to request `id`.
   * Never throws: an answer that cannot be packed becomes a 500 of its own.
   * @param {number} id
   * @param {Wire} wire
   */
  add(id, wire) {
    try {
      this._add(id, wire)
    } catch (err) {
      // E.g. a string body longer than V8's strings allow, with the separator.
      this.send()
      this._add(id, unsendable(messageOf(err)))
    }
  }

  /**
   * @param {number} id
   * @param {Wire} wire
   */
  _add(id, wire) {
    const why = problem(wire[0], wire[1], wire[2])
    const [status, headers, body] = why === undefined ? wire : unsendable(why)
    // Everything is worked out before anything changes, so a throw leaves the pack as it was.
    let flags
    if (headers === JSON_ONLY) flags = HEADERS_JSON
    else if (headers.length === 0) flags = HEADERS_NONE
    else if (headers === TEXT_ONLY) flags = HEADERS_TEXT
    else flags = HEADERS_LISTED
    let bytes
    let text
    let end = this.length
    if (body instanceof Uint8Array) {
      flags |= BODY_EXTRA
      bytes = body.byteLength <= COPY_LIMIT ? Buffer.from(body) : Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    } else {
      const s = body ?? ''
      if (this.count > 0 && this.length + s.length + 1 > TEXT_BUDGET) this.send()
      end = this.length + s.length
      text = this.text + s + SEPARATOR
    }
    if (META * this.count === this.meta.length) {
      const bigger = new Uint32Array(this.meta.length * 2)
      bigger.set(this.meta)
      this.meta = bigger
    }
    // In the order Rust reads them: the headers, then the body.
    // (Rust only reads them: a frozen list is never listed, it travels as a flag.)
    if ((flags & HEADERS_MASK) === HEADERS_LISTED) this.extras.push(/** @type {string[]} */ (headers))
    if (bytes !== undefined) this.extras.push(bytes)
    else {
      this.text = /** @type {string} */ (text)
      this.length = end + 1
    }
    const m = this.meta
    const at = META * this.count++
    m[at] = id
    m[at + 1] = status
    m[at + 2] = flags
    m[at + 3] = end
    // A large byte body is read by Rust now, while it is surely unchanged.
    if (bytes !== undefined && bytes.byteLength > COPY_LIMIT) this.send()
  }

  /** Hands every added answer to Rust in one call and starts over. */
  send() {
    if (this.count === 0) return
    const { meta, count, text, extras } = this
    this.reset()
    try {
      this.native.respondBatch(meta.subarray(0, META * count), text, extras)
    } catch (err) {
      // Only when the engine is gone (closed): nobody waits for these answers.
      console.error(`[nebula] could not answer ${count} request(s):`, err)
    }
  }
}

module.exports = { Answers, sendable, JSON_TYPE, TEXT_TYPE, JSON_ONLY, TEXT_ONLY, NO_HEADERS, TEXT_BUDGET, COPY_LIMIT }
