'use strict'

// CorsPlugin: the JS face of the native "cors" plugin (src/plugins/cors.rs).
// Preflights are answered in Rust; every answer for an allowed origin gets
// its Access-Control-* headers there too.

const { PluginPriority } = require('../priority')
const { reconfigureNative } = require('../reconfigure')
const { nativeLayer } = require('../native-layer')
const { overridable } = require('./overrides')

const KEYS = ['origins', 'methods', 'allowedHeaders', 'exposedHeaders', 'credentials', 'maxAge']
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
      throw new TypeError(
        `CorsPlugin: origins[${i}] ${JSON.stringify(s)} is not an origin: scheme://host[:port], without a path or a trailing slash`,
      )
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
 */
function checkCorsOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('CorsPlugin: options must be an object')
  }
  const out = {}
  for (const k of Object.keys(options)) {
    if (!KEYS.includes(k)) throw new TypeError(`CorsPlugin: unknown option ${JSON.stringify(k)}`)
    if (options[k] !== undefined) out[k] = options[k]
  }
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
 */
class CorsPlugin {
  constructor(options = {}) {
    this.options = checkCorsOptions(options)
    this.name = 'cors'
    this.priority = PluginPriority.SECURITY
    this._modules = new Map()
  }
  /**
   * New options while the engine serves: every route's layer changes at once (counters and
   * state start afresh). Throws a TypeError naming the option; nothing changes then.
   */
  reconfigure(options) {
    reconfigureNative(this, options)
  }


  getModuleOptionsSchema() {
    return { _type: {}, validate: overrides.validateModule(this.options) }
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m.options || {}]))
  }

  /** The layer a script-VM hook route gets: the plugin's own options. */
  hookLayer() {
    return { kind: 'cors', pluginOptions: this.options, layerOptions: this.options }
  }

  onHandlerLoad(handlers) {
    for (const h of handlers) {
      if (h.type !== 'route') continue
      const layerOptions = overrides.layerOptions(this.options, this._modules.get(h.module), h)
      if (layerOptions === undefined) continue
      h.wrap(nativeLayer(this, 'cors', this.options, layerOptions))
    }
  }
}

module.exports = { CorsPlugin, checkCorsOptions }
