'use strict'

// RateLimitPlugin: the JS face of the native "rate_limit" plugin
// (crates/nebula-core/src/plugins/rate_limit.rs). Requests are counted and refused (429) in
// Rust, before anything reaches JavaScript while the outer layers are native.

const { PluginPriority } = require('../priority')
const { joinPath } = require('../route-plugin')
const { ReconfigurableNativeRoutePlugin, moduleOptions } = require('./native-route-plugin')
const { rateLimit: SPEC, knownOptions, optionSchema, defaultOf } = require('./specs')

const MAX_REQUESTS = optionSchema(SPEC, 'maxRequests').maximum
const MAX_WINDOW_MS = optionSchema(SPEC, 'windowMs').maximum
const MAX_KEYS = optionSchema(SPEC, 'maxKeys').maximum
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function checkInt(v, name, max) {
  if (!(Number.isSafeInteger(v) && v >= 1 && v <= max)) {
    throw new TypeError(`RateLimitPlugin: ${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`)
  }
}

/** Each request costs windowMs / maxRequests, which must be at least a nanosecond. */
function checkRate(max, windowMs, name) {
  if (max > windowMs * 1e6) {
    throw new TypeError(`RateLimitPlugin: ${name} ${max} is too many for a window of ${windowMs} ms (at most 1000000 per ms)`)
  }
}

function checkKey(key) {
  if (key === 'ip') return key
  const bad = () => new TypeError('RateLimitPlugin: key must be "ip", { header: "<name>" } or { claim: "<name>" }')
  if (key === null || typeof key !== 'object' || Array.isArray(key) || Object.keys(key).length !== 1) throw bad()
  if ('header' in key) {
    if (typeof key.header !== 'string' || !TOKEN.test(key.header)) {
      throw new TypeError(`RateLimitPlugin: key.header must be a header name, got ${JSON.stringify(key.header)}`)
    }
    return { header: key.header.toLowerCase() }
  }
  if ('claim' in key) {
    if (typeof key.claim !== 'string' || key.claim === '') {
      throw new TypeError(`RateLimitPlugin: key.claim must be a non-empty string, got ${JSON.stringify(key.claim)}`)
    }
    return { claim: key.claim }
  }
  throw bad()
}

/**
 * Validates the plugin options (TypeError naming the option); returns them with defaults.
 * @returns {Readonly<Required<import('../../index').RateLimitOptions>>}
 */
function checkRateLimitOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('RateLimitPlugin: options must be an object')
  }
  knownOptions(SPEC, options)
  const pick = (k) => (options[k] === undefined ? defaultOf(SPEC, k) : options[k])
  const out = {
    maxRequests: pick('maxRequests'),
    windowMs: pick('windowMs'),
    key: checkKey(pick('key')),
    maxKeys: pick('maxKeys'),
  }
  checkInt(out.maxRequests, 'maxRequests', MAX_REQUESTS)
  checkInt(out.windowMs, 'windowMs', MAX_WINDOW_MS)
  checkInt(out.maxKeys, 'maxKeys', MAX_KEYS)
  checkRate(out.maxRequests, out.windowMs, 'maxRequests')
  return Object.freeze(out)
}

/**
 * The limit a module's or route's options ask for: `undefined` when they set
 * neither key, else `{ maxRequests, windowMs }` over `base`. Throws a TypeError.
 */
function ownLimit(opts, base, where) {
  const max = opts.rateLimitMaxRequests
  const win = opts.rateLimitWindowMs
  if (max === undefined && win === undefined) return undefined
  if (max !== undefined) checkInt(max, `${where} rateLimitMaxRequests`, MAX_REQUESTS)
  if (win !== undefined) checkInt(win, `${where} rateLimitWindowMs`, MAX_WINDOW_MS)
  const limit = { maxRequests: max === undefined ? base.maxRequests : max, windowMs: win === undefined ? base.windowMs : win }
  checkRate(limit.maxRequests, limit.windowMs, `${where} rateLimitMaxRequests`)
  return limit
}

/**
 * Rate limiting (priority SECURITY), counted in Rust per client key: the
 * client address by default, or a header's value, or a JWT claim (register
 * the JWT plugin first: equal priorities keep registration order, and the
 * claim is read from the `user` it sets).
 *
 * Limits: the plugin's `maxRequests` per `windowMs`, shared by every route;
 * a module with `rateLimitMaxRequests` / `rateLimitWindowMs` gets one set of
 * counters for its routes; a route with them gets its own; `@Route({
 * rateLimit: false })` is not limited. Over the limit: 429 with `Retry-After`.
 * Every answer carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`.
 * @extends {ReconfigurableNativeRoutePlugin<'rate-limit', typeof PluginPriority.SECURITY, Readonly<Required<import('../../index').RateLimitOptions>>>}
 */
class RateLimitPlugin extends ReconfigurableNativeRoutePlugin {
  /** @param {import('../../index').RateLimitOptions} [options] */
  constructor(options = {}) {
    super({ name: 'rate-limit', priority: PluginPriority.SECURITY, kind: SPEC.kind, options: checkRateLimitOptions(options) })
    this._owners = new Map()
  }

  validateModule(options) {
    try {
      ownLimit(options || {}, this.options, 'module option')
    } catch (err) {
      return err.message.replace(/^RateLimitPlugin: /, '')
    }
    return true
  }

  /** A hook route gets the global limit. */
  hookLayerOptions() {
    const base = this.options
    return { maxRequests: base.maxRequests, windowMs: base.windowMs, scope: 'global' }
  }

  onHandlerLoad(handlers) {
    // Scope names in use, and by whom (module class / handler), to keep them unique.
    this._owners = new Map()
    super.onHandlerLoad(handlers)
  }

  _scope(name, owner) {
    let scope = name
    for (let n = 2; this._owners.has(scope) && this._owners.get(scope) !== owner; n++) scope = `${name}#${n}`
    this._owners.set(scope, owner)
    return scope
  }

  layerOptions(h, mod) {
    const base = this.options
    const modOpts = moduleOptions(mod)
    const opts = h.options || {}
    const where = `route ${h.methodName}`
    if (opts.rateLimit !== undefined && typeof opts.rateLimit !== 'boolean') {
      throw new TypeError(`RateLimitPlugin: ${where}: rateLimit must be a boolean (false exempts the route)`)
    }
    if (opts.rateLimit === false) return undefined
    const fromModule = ownLimit(modOpts, base, 'module option')
    const fromRoute = ownLimit(opts, fromModule || base, `${where}:`)
    if (fromRoute) {
      const methods = (Array.isArray(opts.method) ? opts.method : [opts.method || 'GET']).map((m) => String(m).toUpperCase())
      const paths = (Array.isArray(opts.path) ? opts.path : [opts.path]).map((p) => joinPath(undefined, modOpts.routePrefix, p))
      return { ...fromRoute, scope: this._scope(`route:${methods.join(',')} ${paths.join(',')}`, h) }
    }
    if (fromModule) return { ...fromModule, scope: this._scope(`module:${mod ? mod.name : '?'}`, h.module) }
    return this.hookLayerOptions()
  }
}

module.exports = { RateLimitPlugin, checkRateLimitOptions }
