'use strict'

// A streamed action's body, framed as nebula-engine frames it: one EJSON
// object per item, `{"value": v, "done": false}`, then `{"done": true}`, or
// `{"error": message, "done": true}` when the generator throws. The objects
// follow each other with nothing between them (nebula's client cuts them
// apart by matching braces); the content type says text/event-stream.
//
// The body is written chunk by chunk through the response's sink (a bounded
// queue in Rust: a generator that outpaces its client waits). When the client
// goes away, the sink says so: the action's AbortSignal is aborted and the
// generator's return() runs (its `finally` blocks), even if it was waiting.

const ejson = require('ejson')
const { StreamedAnswer } = require('../../respond')
const { messageOf, logError } = require('../../fault')

const STREAM_HEADERS = Object.freeze({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })

const CLOSED = Symbol('closed')

/** @param {unknown} frame */
const encode = (frame) => Buffer.from(ejson.stringify(/** @type {any} */ (frame)))

/**
 * Ends the generator: `return()` (its finally blocks run); what it throws or returns is of no interest any more.
 * @param {AsyncIterator<unknown>} iterator
 */
function finish(iterator) {
  if (typeof iterator.return !== 'function') return
  try {
    Promise.resolve(iterator.return()).catch(() => {})
  } catch {
    // A return() that throws at once: the generator is over all the same.
  }
}

/**
 * The answer of a streamed action, or why there is none (`[Symbol.asyncIterator]()` threw).
 * @param {AsyncIterable<unknown>} iterable what the action returned
 * @param {AbortController} controller the action's signal
 * @param {string} who `module.action`, for logs
 */
function streamAnswer(iterable, controller, who) {
  /** @type {AsyncIterator<unknown>} */
  let iterator
  try {
    iterator = iterable[Symbol.asyncIterator]()
  } catch (err) {
    return { failed: messageOf(err) }
  }

  /** @param {import('../../../binding').BodySink} sink */
  async function pump(sink) {
    try {
      await write(sink)
    } catch (err) {
      // Not expected: every step of write() handles its own failures.
      logError(`[nebula] ${who}: the stream failed:`, err)
      finish(iterator)
    }
  }

  /** @param {import('../../../binding').BodySink} sink */
  async function write(sink) {
    let over = false
    let gone = false
    let completed = false
    const closed = sink.closed().then(() => {
      if (over) return CLOSED
      gone = true
      controller.abort(new Error('the client closed the connection'))
      return CLOSED
    })
    try {
      for (;;) {
        const next = Promise.resolve(iterator.next())
        const step = await Promise.race([next, closed])
        if (step === CLOSED) {
          // The generator may still settle this step later: nobody reads it.
          next.catch(() => {})
          break
        }
        const { value, done } = /** @type {IteratorResult<unknown>} */ (step)
        if (done) {
          completed = true
          await sink.write(encode({ done: true }))
          break
        }
        if (!(await sink.write(encode({ value, done: false })))) {
          gone = true
          controller.abort(new Error('the client closed the connection'))
          break
        }
      }
    } catch (err) {
      // The generator threw, or a value could not be encoded: the last frame says so.
      try {
        await sink.write(encode({ error: messageOf(err), done: true }))
      } catch (writeErr) {
        logError(`[nebula] ${who}: could not write the error frame of a stream:`, writeErr)
      }
    } finally {
      over = !gone
      sink.end()
      // Stopped early (the client went, a value could not be encoded): the generator's finally blocks run.
      if (!completed) finish(iterator)
    }
  }

  function cancel() {
    controller.abort(new Error('nobody waits for this answer any more'))
    finish(iterator)
  }

  return { answer: new StreamedAnswer(200, STREAM_HEADERS, pump, cancel) }
}

module.exports = { streamAnswer }
