'use strict'

// CorsPlugin: the JS face of the native "cors" plugin (crates/nebula-core/src/plugins/cors.rs).
// Preflights are answered in Rust; every answer for an allowed origin gets
// its Access-Control-* headers there too.

const { PluginPriority } = require('../priority')
const { ReconfigurableNativeRoutePlugin, moduleOptions } = require('./native-route-plugin')
const { overridable } = require('./overrides')
const { cors: SPEC, knownOptions } = require('./specs')

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/
const HOST_CHARS = /^[A-Za-z0-9\-.:[\]_]+$/

/** host[:port] as an Origin carries it: no path, query, user info or wildcard. */
function isHostPort(s) {
  return HOST_CHARS.test(s) && !/^[.:]/.test(s) && !/[.:]$/.test(s)
}

function isOrigin(s) {
  const i = s.indexOf('://')
  return i > 0 && SCHEME.test(s.slice(0, i)) && isHostPort(s.slice(i + 3))
}

/** scheme://*.domain[:port], the domain having a dot. */
function isPattern(s) {
  const i = s.indexOf('://')
  if (i <= 0 || !SCHEME.test(s.slice(0, i))) return false
  const rest = s.slice(i + 3)
  if (!rest.startsWith('*.')) return false
  const host = rest.slice(2)
  return isHostPort(host) && host.split(':')[0].includes('.')
}

function checkOrigins(v) {
  if (v === '*') return
  if (!Array.isArray(v)) throw new TypeError('CorsPlugin: origins must be "*" or an array of origins')
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw new TypeError(`CorsPlugin: origins[${i}] must be a string`)
    if (s === '*') throw new TypeError(`CorsPlugin: origins[${i}] is "*": give origins: "*" alone instead of a list`)
    if (s.includes('*')) {
      if (!isPattern(s)) {
        throw new TypeError(
          `CorsPlugin: origins[${i}] ${JSON.stringify(s)} is not a valid pattern: the only wildcard form is scheme://*.domain (e.g. https://*.example.com)`,
        )
      }
    } else if (s !== 'null' && !isOrigin(s)) {
      throw new TypeError(`CorsPlugin: origins[${i}] ${JSON.stringify(s)} is not an origin: scheme://host[:port], without a path or a trailing slash`)
    }
  })
}

function checkTokens(v, name) {
  if (!Array.isArray(v)) throw new TypeError(`CorsPlugin: ${name} must be an array of strings`)
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw new TypeError(`CorsPlugin: ${name}[${i}] must be a string`)
    if (!TOKEN.test(s)) throw new TypeError(`CorsPlugin: ${name}[${i}] ${JSON.stringify(s)} is not a valid HTTP token`)
  })
}

/**
 * Validates CORS options (throws a TypeError naming the option) and returns
 * them as plain JSON without the keys given as undefined.
 * @returns {import('../../index').CorsOptions}
 */
function checkCorsOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('CorsPlugin: options must be an object')
  }
  const out = knownOptions(SPEC, options)
  if (out.origins !== undefined) checkOrigins(out.origins)
  if (out.methods !== undefined) {
    checkTokens(out.methods, 'methods')
    if (out.methods.length === 0) throw new TypeError('CorsPlugin: methods must not be empty')
  }
  if (out.allowedHeaders !== undefined) checkTokens(out.allowedHeaders, 'allowedHeaders')
  if (out.exposedHeaders !== undefined) checkTokens(out.exposedHeaders, 'exposedHeaders')
  if (out.credentials !== undefined && typeof out.credentials !== 'boolean') {
    throw new TypeError('CorsPlugin: credentials must be a boolean')
  }
  if (out.maxAge !== undefined && !(Number.isSafeInteger(out.maxAge) && out.maxAge >= 0)) {
    throw new TypeError('CorsPlugin: maxAge must be a non-negative integer (seconds)')
  }
  return out
}

const overrides = overridable({ plugin: 'CorsPlugin', key: 'cors', what: 'CORS options', check: checkCorsOptions })

/**
 * CORS for every route (priority SECURITY): preflights answered in Rust, the
 * `Access-Control-*` headers added to every answer for an allowed origin.
 * Per module (`@Module(name, { cors })`) and per route (`@Route({ cors })`):
 * `false` turns it off, an object overrides options (route over module).
 * @extends {ReconfigurableNativeRoutePlugin<'cors', typeof PluginPriority.SECURITY, import('../../index').CorsOptions>}
 */
class CorsPlugin extends ReconfigurableNativeRoutePlugin {
  /** @param {import('../../index').CorsOptions} [options] */
  constructor(options = {}) {
    super({ name: 'cors', priority: PluginPriority.SECURITY, kind: SPEC.kind, options: checkCorsOptions(options) })
  }

  validateModule(options) {
    return overrides.validateModule(this.options)(options)
  }

  layerOptions(h, module) {
    return overrides.layerOptions(this.options, moduleOptions(module), h)
  }
}

module.exports = { CorsPlugin, checkCorsOptions }
