'use strict'

// The JS side of a request: Rust queues requests and wakes this thread; one
// wake-up takes every queued request (`takeBatch`), each is run through its
// route and answered with `respond`. Nothing here may throw: an exception in
// a native callback would be uncaught, and an unanswered id waits for the
// handler timeout.

const { Context, HttpRequest } = require('./context')
const { Answers } = require('./answers')
const { toWire, errorWire, StreamedAnswer, streamHead } = require('./respond')
const { settle, logError } = require('./fault')
const { internalsOf } = require('./engine-internals')
const { sharedDefinitions } = require('./native')

// How takeBatch() packs a request (src/binding/dispatch.rs, handed over by src/binding/shared.rs).
const { meta: META, body: BODY, locals: LOCALS, params: PARAMS, peerText: PEER_TEXT, peerIpv4: PEER_IPV4, valid: VALID } = sharedDefinitions().request

/** @type {readonly string[]} */
const NO_PARAMS = Object.freeze([])

/** A streamed body is read until a little after Rust's own handler timeout (which answers 503). */
const STREAM_GRACE_MS = 250

/**
 * The function Rust calls (without arguments) when requests wait for `engine`.
 * @param {import('./microservice').Microservice} engine
 */
function drainer(engine) {
  const internals = internalsOf(engine)
  const native = internals.loadedNative()
  const routes = internals.routes
  const { handlerTimeout, responseLimit } = engine.options

  // Answers are packed and sent together: those a batch produced synchronously
  // when it ends, later (async) ones at the end of the microtask checkpoint
  // that produced them. One call, one wake-up of the server, for all of them.
  const answers = new Answers(native)
  let draining = false
  let flushQueued = false

  function flush() {
    flushQueued = false
    answers.send()
  }

  function send(id, wire) {
    answers.add(id, wire)
    if (!draining && !flushQueued) {
      flushQueued = true
      queueMicrotask(flush)
    }
  }

  // A streamed answer: its head goes now, its body as the handler writes it.
  function stream(id, ctx, value) {
    let sink
    try {
      const [status, headers] = streamHead(ctx, value)
      sink = native.openStream(id, status, headers)
    } catch (err) {
      send(id, errorWire(err))
    }
    // pump and cancel are the engine's own (lib/plugins/action/stream.js); still, nothing may throw here.
    try {
      if (sink) Promise.resolve(value.pump(sink)).catch((err) => logError('[nebula] a streamed answer failed:', err))
      else value.cancel()
    } catch (err) {
      logError('[nebula] a streamed answer failed:', err)
    }
  }

  function answer(id, ctx, value) {
    if (value instanceof StreamedAnswer) {
      stream(id, ctx, value)
      return
    }
    let wire
    try {
      wire = toWire(ctx, value)
    } catch (err) {
      wire = errorWire(err)
    }
    // A streamed Response is read first (a promise of the wire).
    if (Array.isArray(wire)) {
      send(id, wire)
    } else {
      settle(
        wire,
        (w) => send(id, w),
        (err) => send(id, errorWire(err)),
      )
    }
  }

  // A handler that returns a plain value is answered synchronously, without a promise.
  function dispatch(id, routeId, method, target, params, headers, body, locals, peer, valid) {
    let ctx
    let result
    try {
      const route = routes[routeId]
      const req = new HttpRequest(method, target, params, headers, body)
      req.routePath = route.path
      req._ip = peer ?? undefined
      req._schemas = route.schemas
      req._valid = valid
      ctx = new Context(req, route.handler)
      ctx._deadline = Date.now() + handlerTimeout + STREAM_GRACE_MS
      ctx._responseLimit = responseLimit
      if (locals) {
        ctx._nativeLocals = locals
        for (let i = 0; i < locals.length; i += 2) ctx.set(locals[i], JSON.parse(locals[i + 1]))
      }
      result = route.handle(ctx)
    } catch (err) {
      send(id, errorWire(err))
      return
    }
    // Whatever the handler gave back, even a thenable whose `then` getter
    // throws: settle() never throws, and errorWire() answers anything.
    settle(
      result,
      (value) => answer(id, ctx, value),
      (err) => send(id, errorWire(err)),
    )
  }

  return function drain() {
    // Packed by Rust (src/binding/dispatch.rs, PackedBatch): numbers in `meta`,
    // META per request; the strings are cuts of one `text`; bodies, locals and
    // params, for the requests that have them, in `extras`.
    let batch
    try {
      batch = native.takeBatch()
    } catch (err) {
      // Not expected (Rust bounds a batch well under V8's string limit); the requests wait for their timeout.
      console.error('[nebula] could not take the waiting requests:', err)
      return
    }
    const [meta, text, extras] = batch
    draining = true
    try {
      let at = 0
      let x = 0
      for (let i = 0; i < meta.length; i += META) {
        const flags = meta[i + 2]
        const method = text.slice(at, meta[i + 3])
        const target = text.slice(meta[i + 3], meta[i + 4])
        const headers = text.slice(meta[i + 4], meta[i + 5])
        const peer = flags & PEER_TEXT ? text.slice(meta[i + 5], meta[i + 6]) : flags & PEER_IPV4 ? meta[i + 7] : null
        at = meta[i + 6]
        const body = flags & BODY ? extras[x++] : null
        const locals = flags & LOCALS ? extras[x++] : null
        const params = flags & PARAMS ? extras[x++] : NO_PARAMS
        const valid = flags & VALID ? extras[x++][0] : null
        dispatch(meta[i], meta[i + 1], method, target, params, headers, body, locals, peer, valid)
      }
    } finally {
      draining = false
      if (!flushQueued) flush()
    }
  }
}

module.exports = { drainer }
