'use strict'

// A native plugin's layer, as the JS chain sees it.
//
// `nativeLayer(plugin, kind, pluginOptions, layerOptions)` returns a wrapper
// for `handler.wrap()`. The engine creates the Rust plugin once (per engine)
// and one Rust layer per handler. While every outer layer is native too, the
// layer runs in Rust before anything reaches JavaScript; otherwise this
// function runs it from the JS chain, calling into Rust: synchronously, or,
// when the layer must wait before it decides (the cache's Redis lookup), by
// awaiting its decision. The request never goes on past an undecided layer.

const { Context, HttpResponse } = require('./context')
const { toWire, errorWire } = require('./respond')
const { sendable } = require('./answers')

const NATIVE = Symbol('nebula.native-layer')
const NATIVE_PLUGIN = Symbol('nebula.native-plugin')

/**
 * Marks `plugin` as backed by native plugin `kind`: the engine creates it when it
 * loads, even if no handler gets one of its layers (e.g. a plugin that serves an
 * endpoint like /metrics).
 */
function declareNative(plugin, kind, options = {}) {
  plugin[NATIVE_PLUGIN] = { kind, options }
  return plugin
}

function declaredNative(plugin) {
  return plugin[NATIVE_PLUGIN]
}

/**
 * `[name, value, name, value, …]` as a record; a repeated name's values joined with ", ".
 * @param {string[]} flat
 */
function headerRecord(flat) {
  // No prototype: a header named `constructor` or `__proto__` is a header like any other.
  /** @type {Record<string, string>} */
  const out = Object.create(null)
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i]
    out[k] = out[k] === undefined ? flat[i + 1] : `${out[k]}, ${flat[i + 1]}`
  }
  return out
}

function toBuffer(body) {
  if (body === null || body === undefined) return Buffer.alloc(0)
  return Buffer.isBuffer(body) ? body : Buffer.from(body)
}

/**
 * @param {object} [hooks]
 * @param {(next, instance, args, call) => any} [hooks.direct] runs for calls that are not
 *   HTTP requests (engine.handler(), instance methods); `call(op, arg)` is the layer's
 *   plugin-specific operation in Rust (a Promise).
 */
function nativeLayer(plugin, kind, pluginOptions = {}, layerOptions = {}, hooks = {}) {
  if (!plugin || typeof plugin !== 'object') throw new TypeError('nativeLayer(plugin, kind, …) needs the plugin object')
  if (typeof kind !== 'string' || kind === '') throw new TypeError('nativeLayer(plugin, kind, …) needs a kind')
  async function nativeLayerInJs(next, _instance, ...args) {
    const bound = nativeLayerInJs[NATIVE].bound
    const ctx = args[0]
    if (!bound || bound.layer === null) return next()
    if (!(ctx instanceof Context)) {
      // Not an HTTP call (engine.handler()): the plugin's direct path, if it has one.
      if (!hooks.direct) return next()
      return hooks.direct(next, _instance, args, (op, arg) => bound.native.layerCall(bound.layer, op, arg))
    }
    const req = {
      method: ctx.req.method,
      target: ctx.req._target,
      route: ctx.req.routePath || '',
      headers: ctx.req._headers,
      peer: ctx.req.ip,
      locals: ctx._nativeLocals,
    }
    let verdict = bound.native.layerBefore(bound.layer, req)
    // A promise when the layer must wait (I/O in Rust): a rejection fails the request.
    if (typeof verdict.then === 'function') verdict = await verdict
    if (verdict.locals.length > 0) {
      ctx._nativeLocals = [...(ctx._nativeLocals || []), ...verdict.locals]
      for (let i = 0; i < verdict.locals.length; i += 2) ctx.set(verdict.locals[i], JSON.parse(verdict.locals[i + 1]))
    }
    if (verdict.respond) {
      const r = verdict.respond
      return new HttpResponse(r.body, r.status, headerRecord(r.headers))
    }
    let wire
    try {
      // An answer Rust could not send as it is (a status HTTP has no room for)
      // is the same 500 JSON here as on the way back from a route.
      wire = sendable(await toWire(ctx, await next()))
    } catch (err) {
      wire = errorWire(err)
    }
    const out = bound.native.layerAfter(bound.layer, verdict.token, req, {
      status: wire[0],
      headers: wire[1],
      body: toBuffer(wire[2]),
    })
    return new HttpResponse(out.body, out.status, headerRecord(out.headers))
  }
  nativeLayerInJs[NATIVE] = { plugin, kind, pluginOptions, layerOptions, bound: undefined }
  return nativeLayerInJs
}

/** The native spec of a wrapper made by nativeLayer(), or undefined. */
function nativeSpec(wrapper) {
  return wrapper[NATIVE]
}

module.exports = { nativeLayer, nativeSpec, declareNative, declaredNative }
