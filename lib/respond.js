'use strict'

// Turns whatever a handler returned (or threw) into the wire triple that goes
// back to Rust: [status, flat headers, body].

const { STATUS_CODES } = require('node:http')
const { HttpResponse } = require('./context')
const { JSON_TYPE, TEXT_TYPE, JSON_ONLY, TEXT_ONLY, NO_HEADERS } = require('./answers')
const { messageOf, statusOf, thenOf } = require('./fault')

/** @typedef {import('./answers').Wire} Wire */
/** @typedef {import('./context').Context} Context */

/**
 * @param {Record<string, string> | undefined} ctxHeaders
 * @param {Record<string, unknown>} [own]
 */
function flatten(ctxHeaders, own) {
  // No prototype: any header name is a header (`constructor`, `__proto__`).
  /** @type {Record<string, string>} */
  const merged = Object.assign(Object.create(null), ctxHeaders)
  if (own) for (const k of Object.keys(own)) merged[k.toLowerCase()] = String(own[k])
  /** @type {string[]} */
  const flat = []
  for (const k of Object.keys(merged)) flat.push(k, merged[k])
  return flat
}

function bodyOf(body, headers) {
  if (body === null || body === undefined) return null
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  const json = JSON.stringify(body)
  if (json === undefined) throw new TypeError(`a response body of type ${typeof body} cannot be sent as JSON`)
  if (!('content-type' in headers)) headers['content-type'] = JSON_TYPE
  return json
}

const DEFAULT_RESPONSE_LIMIT = 16 * 1024 * 1024

/**
 * Reads a streamed body within the response limit and the handler's deadline;
 * the stream is cancelled when either runs out.
 * @param {Context} ctx
 * @param {Response & { body: ReadableStream<Uint8Array> }} res
 */
async function readBody(ctx, res) {
  const limit = ctx._responseLimit ?? DEFAULT_RESPONSE_LIMIT
  const deadlineMs = ctx._deadline
  const reader = res.body.getReader()
  /** @type {Uint8Array[]} */
  const chunks = []
  let size = 0
  let timer
  /** @type {Promise<never> | undefined} */
  const deadline =
    deadlineMs === undefined
      ? undefined
      : new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('the response body did not end before the handler timeout')), Math.max(0, deadlineMs - Date.now()))
        })
  try {
    for (;;) {
      const { done, value } = await (deadline ? Promise.race([reader.read(), deadline]) : reader.read())
      if (done) break
      size += value.byteLength
      if (size > limit) throw new Error(`the response body is larger than the limit of ${limit} bytes`)
      chunks.push(value)
    }
  } catch (err) {
    reader.cancel(err).catch(() => {})
    throw err
  } finally {
    clearTimeout(timer)
  }
  return Buffer.concat(chunks)
}

/**
 * @param {Context} ctx
 * @param {Response} res
 * @returns {Promise<Wire>}
 */
async function fromWebResponse(ctx, res) {
  /** @type {Record<string, string>} */
  const own = {}
  // A fetch() result's body is already decoded: its Content-Encoding no longer applies.
  const decoded = res.type !== 'default'
  res.headers.forEach((v, k) => {
    if (k === 'set-cookie' || (decoded && k === 'content-encoding')) return
    own[k] = v
  })
  const flat = flatten(ctx._headers, own)
  for (const cookie of res.headers.getSetCookie ? res.headers.getSetCookie() : []) flat.push('set-cookie', cookie)
  const body = res.body === null ? null : await readBody(ctx, /** @type {Response & { body: ReadableStream<Uint8Array> }} */ (res))
  return [res.status, flat, body]
}

/** @param {Record<string, unknown> | undefined} headers */
function lowerKeys(headers) {
  /** @type {Record<string, unknown>} */
  const out = Object.create(null)
  if (headers) for (const k of Object.keys(headers)) out[k.toLowerCase()] = headers[k]
  return out
}

/**
 * Return mapping: undefined/null → 204, Response → as is, string → text, bytes → octet-stream,
 * escaped HTML (hono's html`` and JSX) → text/html, else JSON.
 * A streamed Response gives a promise of the wire.
 * @param {Context} ctx
 * @param {unknown} value
 * @returns {Wire | Promise<Wire>}
 */
function toWire(ctx, value) {
  if (value === undefined || value === null) {
    return [ctx._status ?? 204, ctx._headers ? flatten(ctx._headers) : NO_HEADERS, null]
  }
  if (value instanceof HttpResponse) {
    const own = lowerKeys(value.headers)
    const body = bodyOf(value.body, own)
    return [value.status, flatten(ctx._headers, own), body]
  }
  if (typeof value === 'string') {
    if (!ctx._headers) return [ctx._status ?? 200, TEXT_ONLY, value]
    return [ctx._status ?? 200, flatten(ctx._headers, { 'content-type': TEXT_TYPE, ...pick(ctx) }), value]
  }
  if (typeof Response !== 'undefined' && value instanceof Response) return fromWebResponse(ctx, value)
  if (Buffer.isBuffer(value) || value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const own = { 'content-type': 'application/octet-stream', ...pick(ctx) }
    return [ctx._status ?? 200, flatten(ctx._headers, own), bodyOf(value, own)]
  }
  if (isHtml(value)) {
    // hono's html`` (a String object) or a hono/jsx node: rendered by its own toString(),
    // which gives a promise when an async component is inside.
    const rendered = value.toString()
    if (thenOf(rendered)) return Promise.resolve(rendered).then((text) => htmlWire(ctx, text))
    return htmlWire(ctx, rendered)
  }
  const json = JSON.stringify(value)
  if (json === undefined) throw new TypeError(`a handler returned a ${typeof value}, which cannot be sent as JSON`)
  if (!ctx._headers) return [ctx._status ?? 200, JSON_ONLY, json]
  return [ctx._status ?? 200, flatten(ctx._headers, { 'content-type': JSON_TYPE, ...pick(ctx) }), json]
}

const HTML_TYPE = 'text/html; charset=utf-8'

/**
 * Already-escaped HTML, told by its shape (hono's HtmlEscaped protocol, without importing
 * hono): an object marked `isEscaped: true` that renders itself with toString(). Both
 * hono/html's html`` and hono/jsx's nodes carry the mark; a plain object with a `type`
 * field does not (it stays JSON).
 * @param {unknown} value
 * @returns {value is { isEscaped: true, toString(): unknown }}
 */
function isHtml(value) {
  return typeof value === 'object' && value !== null && /** @type {any} */ (value).isEscaped === true && typeof value.toString === 'function'
}

/**
 * @param {Context} ctx
 * @param {unknown} text the rendered HTML (a string or a String object)
 * @returns {Wire}
 */
function htmlWire(ctx, text) {
  return [ctx._status ?? 200, flatten(ctx._headers, { 'content-type': HTML_TYPE, ...pick(ctx) }), String(text)]
}

/**
 * A content-type the handler set with ctx.header() wins over the default.
 * @param {Context} ctx
 */
function pick(ctx) {
  const h = ctx._headers
  return h?.['content-type'] ? { 'content-type': h['content-type'] } : undefined
}

/**
 * The default error reply: no stack trace ever reaches the client. Never
 * throws, whatever `err` is (see ./fault).
 * @param {unknown} err
 * @returns {Wire}
 */
function errorWire(err) {
  const status = statusOf(err)
  const error = status === 500 ? 'Internal server error' : STATUS_CODES[status] || 'Error'
  const body = JSON.stringify({ error, message: messageOf(err) })
  return [status, JSON_ONLY, body]
}

/**
 * An answer whose body is written after its head (a streamed action): the
 * dispatcher opens the response (`status`, `headers`) and hands `pump` the
 * sink it writes to (`write(chunk) → Promise<boolean>`, false once the client
 * has gone; `closed()`, `end()`). `cancel()` is called instead when nobody
 * waits for the answer any more. `pump` must not reject.
 */
class StreamedAnswer {
  /**
   * @param {number} status
   * @param {Record<string, string>} headers
   * @param {(sink: import('../binding').BodySink) => Promise<void>} pump
   * @param {() => void} cancel
   */
  constructor(status, headers, pump, cancel) {
    this.status = status
    this.headers = headers
    this.pump = pump
    this.cancel = cancel
  }
}

/**
 * The head of a streamed answer: its status, and its headers over those set with ctx.header().
 * @param {Context} ctx
 * @param {StreamedAnswer} answer
 * @returns {[number, string[]]}
 */
function streamHead(ctx, answer) {
  return [answer.status, flatten(ctx._headers, lowerKeys(answer.headers))]
}

module.exports = { toWire, errorWire, StreamedAnswer, streamHead }
