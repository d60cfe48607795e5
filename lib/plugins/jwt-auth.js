'use strict'

// JwtAuthPlugin: the JS face of the native "jwt" plugin (src/plugins/jwt.rs,
// verifier in src/auth/jwt.rs). Tokens are verified in Rust; a refused
// request (401/403) never enters JavaScript; the verified claims reach the
// handler as ctx.get('user').

const { createPublicKey } = require('node:crypto')
const { PluginPriority } = require('../priority')
const { reconfigureNative } = require('../reconfigure')
const { nativeLayer } = require('../native-layer')

const KEYS = ['algorithm', 'secret', 'publicKey', 'issuer', 'audience', 'leeway', 'claimsPermissions', 'claimsRoles']
const ALGORITHMS = ['HS256', 'RS256', 'ES256']
const MIN_SECRET_BYTES = 32
const MAX_LEEWAY = 300
const MIN_RSA_BITS = 2048

const fail = (message) => {
  throw new TypeError(`JwtAuthPlugin: ${message}`)
}

const isNonEmptyString = (v) => typeof v === 'string' && v !== ''

/** Checks a PEM public key the way the Rust side will (so errors come at construction). */
function checkPublicKey(algorithm, pem) {
  if (!isNonEmptyString(pem)) fail(`algorithm ${algorithm} needs publicKey (a PEM string)`)
  if (pem.includes('PRIVATE KEY')) fail('publicKey is a private key; give the public key (PEM)')
  let key
  try {
    key = createPublicKey(pem)
  } catch (err) {
    fail(`publicKey is not a valid PEM public key (${err.message})`)
  }
  const details = key.asymmetricKeyDetails || {}
  if (algorithm === 'RS256') {
    if (key.asymmetricKeyType !== 'rsa') fail('publicKey is not an RSA public key PEM (RS256)')
    if (details.modulusLength < MIN_RSA_BITS) fail(`publicKey RSA modulus must be at least ${MIN_RSA_BITS} bits`)
  } else if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1') {
    fail('publicKey is not an EC P-256 public key PEM (ES256)')
  }
}

/**
 * Validates the plugin options (throws a TypeError naming the option) and
 * returns them as plain JSON without the keys given as undefined.
 */
function checkJwtOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail('options must be an object with at least algorithm')
  }
  const out = {}
  for (const k of Object.keys(options)) {
    if (!KEYS.includes(k)) fail(`unknown option ${JSON.stringify(k)}`)
    if (options[k] !== undefined) out[k] = options[k]
  }
  const { algorithm } = out
  if (algorithm === undefined) fail('algorithm is required ("HS256", "RS256" or "ES256")')
  if (!ALGORITHMS.includes(algorithm)) fail('algorithm must be "HS256", "RS256" or "ES256"')
  if (algorithm === 'HS256') {
    if (out.publicKey !== undefined) fail('publicKey is for RS256/ES256; HS256 uses secret')
    if (typeof out.secret !== 'string') fail('algorithm HS256 needs secret (a string)')
    if (Buffer.byteLength(out.secret) < MIN_SECRET_BYTES) fail(`secret must be at least ${MIN_SECRET_BYTES} bytes for HS256`)
  } else {
    if (out.secret !== undefined) fail(`secret is for HS256; ${algorithm} uses publicKey`)
    checkPublicKey(algorithm, out.publicKey)
  }
  if (out.issuer !== undefined && !isNonEmptyString(out.issuer)) fail('issuer must be a non-empty string')
  if (out.audience !== undefined) {
    const list = Array.isArray(out.audience) ? out.audience : [out.audience]
    if (list.length === 0 || !list.every(isNonEmptyString)) {
      fail('audience must be a non-empty string or a non-empty array of them')
    }
  }
  if (out.leeway !== undefined && !(Number.isInteger(out.leeway) && out.leeway >= 0 && out.leeway <= MAX_LEEWAY)) {
    fail(`leeway must be a whole number of seconds from 0 to ${MAX_LEEWAY}`)
  }
  for (const k of ['claimsPermissions', 'claimsRoles']) {
    if (out[k] !== undefined && !isNonEmptyString(out[k])) fail(`${k} must be a non-empty string`)
  }
  return out
}

/** undefined, or an array of non-empty strings; else the error message. */
function checkList(v, what) {
  if (v === undefined) return true
  if (!Array.isArray(v) || !v.every(isNonEmptyString)) return `${what} must be an array of non-empty strings`
  return true
}

/**
 * Bearer JWT authentication (priority SECURITY), verified in Rust.
 * Route options: `public: true` (no token needed), `permissions: [...]`
 * (all required), `roles: [...]` (any one required). Module options
 * `jwtPermissions` / `jwtRoles` apply to the module's routes that do not set
 * their own `permissions` / `roles`.
 */
class JwtAuthPlugin {
  constructor(options) {
    this.options = checkJwtOptions(options)
    this.name = 'jwt-auth'
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
    return {
      _type: {},
      validate(moduleOptions) {
        const o = moduleOptions || {}
        const bad = checkList(o.jwtPermissions, 'jwtPermissions')
        return bad !== true ? bad : checkList(o.jwtRoles, 'jwtRoles')
      },
    }
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m.options || {}]))
  }

  /** The layer a script-VM hook route gets: a valid token, no particular permission. */
  hookLayer() {
    return { kind: 'jwt', pluginOptions: this.options, layerOptions: { permissions: [], roles: [] } }
  }

  onHandlerLoad(handlers) {
    for (const h of handlers) {
      if (h.type !== 'route') continue
      const route = h.options || {}
      const mod = this._modules.get(h.module) || {}
      const where = `route ${h.methodName}`
      if (route.public !== undefined && typeof route.public !== 'boolean') {
        fail(`public must be a boolean (${where})`)
      }
      for (const k of ['permissions', 'roles']) {
        const bad = checkList(route[k], k)
        if (bad !== true) fail(`${bad} (${where})`)
      }
      if (route.public === true) {
        if (route.permissions !== undefined || route.roles !== undefined) {
          fail(`a public route cannot require permissions or roles (${where})`)
        }
        continue // no layer: no token needed
      }
      const layerOptions = {
        permissions: route.permissions !== undefined ? route.permissions : mod.jwtPermissions || [],
        roles: route.roles !== undefined ? route.roles : mod.jwtRoles || [],
      }
      h.wrap(nativeLayer(this, 'jwt', this.options, layerOptions))
    }
  }
}

module.exports = { JwtAuthPlugin, checkJwtOptions }
