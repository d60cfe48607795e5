'use strict'

// The JS side of a request: Rust queues requests and wakes this thread; one
// wake-up takes every queued request (`takeBatch`), each is run through its
// route and answered with `respond`. Nothing here may throw: an exception in
// a native callback would be uncaught, and an unanswered id waits for the
// handler timeout.

const { Context, HttpRequest } = require('./context')
const { toWire, errorWire } = require('./respond')

/** A streamed body is read until a little after Rust's own handler timeout (which answers 503). */
const STREAM_GRACE_MS = 250

function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function'
}

/** The function Rust calls (without arguments) when requests wait for `engine`. */
function drainer(engine) {
  const native = engine._native
  const routes = engine._routes
  const { handlerTimeout, responseLimit } = engine.options

  // While a batch runs, its synchronous answers are collected and sent in one
  // call (one wake-up of the server); later (async) answers go one by one.
  let collected = null

  function send(id, wire) {
    if (collected !== null) {
      collected.push(id, wire[0], wire[1], wire[2])
      return
    }
    try {
      native.respond(id, wire[0], wire[1], wire[2])
    } catch (err) {
      // The answer itself could not be sent (e.g. a status that is not a number): say so, as a 500.
      try {
        const fallback = errorWire(err)
        native.respond(id, 500, fallback[1], fallback[2])
      } catch (again) {
        console.error('[nebula] could not answer a request:', again)
      }
    }
  }

  function sendAll(answers) {
    try {
      native.respondBatch(answers)
    } catch (err) {
      // Not expected (a bad entry becomes a 500 in Rust): answer one by one, which reports per answer.
      for (let i = 0; i < answers.length; i += 4) send(answers[i], [answers[i + 1], answers[i + 2], answers[i + 3]])
    }
  }

  function answer(id, ctx, value) {
    let wire
    try {
      wire = toWire(ctx, value)
    } catch (err) {
      wire = errorWire(err)
    }
    if (isThenable(wire)) {
      wire.then(
        (w) => send(id, w),
        (err) => send(id, errorWire(err)),
      )
    } else {
      send(id, wire)
    }
  }

  // A handler that returns a plain value is answered synchronously, without a promise.
  function dispatch(id, routeId, method, target, params, headers, body, locals, peer) {
    let ctx
    let result
    try {
      const route = routes[routeId]
      const req = new HttpRequest(method, target, params, headers, body)
      req.routePath = route.path
      req.ip = peer ?? undefined
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
    if (isThenable(result)) {
      result.then(
        (value) => answer(id, ctx, value),
        (err) => send(id, errorWire(err)),
      )
    } else {
      answer(id, ctx, result)
    }
  }

  return function drain() {
    const b = native.takeBatch()
    collected = []
    try {
      for (let i = 0; i < b.length; i += 9) {
        dispatch(b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7], b[i + 8])
      }
    } finally {
      const answers = collected
      collected = null
      if (answers.length > 0) sendAll(answers)
    }
  }
}

module.exports = { drainer }
