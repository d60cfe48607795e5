// uWebSockets.js (npm `uwebsockets`, uWS.js v20 binaries): the speed bar of
// issue 20. The same routes, bytes and per-request work as the other
// contenders, done in JS in uWS's synchronous handler (its idiomatic path):
// hello; stack (fixed-window rate limit by IP as servers/koa.mjs does it, the
// JWT check with fast-jwt's verifier as @fastify/jwt does it (jsonwebtoken's
// verify, which servers/koa.mjs uses, measured ~370 µs of CPU per call here
// against ~7 µs: it would measure the library, not the transport), a timing
// log, a transform of the result);
// rejected (the stack's 401); cached (an in-memory cache hit, as Fastify's);
// limited (429 from a tiny JS rate limit, as nebula's RateLimitPlugin answers);
// validate / invalid (POST /orders: the body read in chunks, JSON.parse, the
// same JSON Schema checked by Ajv compiled at start with ajv-formats, all
// violations reported in nebula's 400 shape).
import { HELLO, ORDER_SCHEMA, RATE_MAX, RATE_WINDOW_MS, SCENARIO, SECRET, orderAnswer } from './common.mjs'
import { loadUws, serve } from './uws-app.mjs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const uWS = loadUws()

const JSON_TYPE = 'application/json; charset=utf-8'
const app = uWS.App()

function send(res, status, body, extra) {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', JSON_TYPE)
    if (extra) for (const [k, v] of extra) res.writeHeader(k, v)
    res.end(body)
  })
}

/** The handler of every scenario: the hello object (the TS handler's result). */
const hello = () => HELLO

if (SCENARIO === 'stack' || SCENARIO === 'rejected') {
  const { createVerifier } = require('fast-jwt')
  const verify = createVerifier({ key: SECRET, algorithms: ['HS256'] })
  const hits = new Map()
  let calls = 0
  let totalMs = 0
  const UNAUTHORIZED = JSON.stringify({ error: 'Unauthorized', message: 'missing bearer token' })
  const TOO_MANY = JSON.stringify({ error: 'Too Many Requests' })
  app.get('/', (res, req) => {
    // Rate limit: a fixed window per client address.
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString()
    const now = Date.now()
    let e = hits.get(ip)
    if (!e || e.reset <= now) hits.set(ip, (e = { n: 0, reset: now + RATE_WINDOW_MS }))
    if (++e.n > RATE_MAX) return send(res, '429 Too Many Requests', TOO_MANY)
    // JWT (HS256). A missing token gets nebula's 401 bytes.
    const h = req.getHeader('authorization')
    try {
      if (!h.startsWith('Bearer ')) throw new Error('missing bearer token')
      verify(h.slice(7))
    } catch {
      return send(res, '401 Unauthorized', UNAUTHORIZED, [['www-authenticate', 'Bearer']])
    }
    // Log (timing) around the transformed handler.
    const t = performance.now()
    let out
    try {
      out = hello()
      out = out && typeof out === 'object' ? { ...out, served: true } : out
    } finally {
      calls++
      totalMs += performance.now() - t
    }
    send(res, '200 OK', JSON.stringify(out))
  })
} else if (SCENARIO === 'cached') {
  const cache = new Map()
  app.get('/', (res, req) => {
    const url = req.getUrl()
    const hit = cache.get(url)
    if (hit && hit.expires > Date.now()) return send(res, '200 OK', hit.body)
    const body = JSON.stringify(hello())
    cache.set(url, { body, expires: Date.now() + 600_000 })
    send(res, '200 OK', body)
  })
} else if (SCENARIO === 'limited') {
  // One request per window per client address: nearly every answer is the 429.
  const hits = new Map()
  const TOO_MANY = JSON.stringify({ error: 'Too Many Requests', message: `rate limit exceeded: 1 requests per ${RATE_WINDOW_MS} ms` })
  app.get('/', (res) => {
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString()
    const now = Date.now()
    let e = hits.get(ip)
    if (!e || e.reset <= now) hits.set(ip, (e = { n: 0, reset: now + RATE_WINDOW_MS }))
    e.n++
    // The same headers as nebula's RateLimitPlugin: Retry-After and RateLimit-*.
    const reset = String(Math.ceil((e.reset - now) / 1000))
    const limit = [
      ['ratelimit-limit', '1'],
      ['ratelimit-remaining', String(Math.max(0, 1 - e.n))],
      ['ratelimit-reset', reset],
    ]
    if (e.n > 1) return send(res, '429 Too Many Requests', TOO_MANY, [['retry-after', reset], ...limit])
    send(res, '200 OK', JSON.stringify(hello()), limit)
  })
} else {
  app.get('/', (res) => send(res, '200 OK', JSON.stringify(hello())))
}
if (SCENARIO === 'validate' || SCENARIO === 'invalid') {
  const Ajv = require('ajv')
  const addFormats = require('ajv-formats')
  const ajv = new Ajv({ allErrors: true })
  addFormats(ajv)
  const check = ajv.compile(ORDER_SCHEMA)
  const bad = (message, errors = []) => JSON.stringify({ error: 'Bad Request', errors, message })
  app.post('/orders', (res) => {
    let aborted = false
    res.onAborted(() => {
      aborted = true
    })
    const chunks = []
    res.onData((chunk, last) => {
      // uWS reuses the chunk's memory after this call: copy it.
      chunks.push(Buffer.from(Buffer.from(chunk)))
      if (!last || aborted) return
      let body
      try {
        body = JSON.parse(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
      } catch {
        return send(res, '400 Bad Request', bad('the body is not JSON'))
      }
      if (!check(body)) {
        const errors = check.errors.map((e) => ({ in: 'body', message: e.message, path: e.instancePath }))
        return send(res, '400 Bad Request', bad(`the request does not match the route's schema (${errors.length} violations)`, errors))
      }
      send(res, '200 OK', JSON.stringify(orderAnswer(body)))
    })
  })
}
serve(uWS, app)
