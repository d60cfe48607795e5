'use strict'

// JwtAuthPlugin: the JS face of the native "jwt" plugin (crates/nebula-core/src/plugins/jwt.rs,
// verifier in crates/nebula-core/src/auth/jwt.rs). Tokens are verified in Rust; a refused
// request (401/403) never enters JavaScript; the verified claims reach the
// handler as ctx.get('user').

const { createPublicKey } = require('node:crypto')
const { PluginPriority } = require('../priority')
const { ReconfigurableNativeRoutePlugin, moduleOptions } = require('./native-route-plugin')
const { jwtAuth: SPEC, knownOptions, optionSchema } = require('./specs')

const ALGORITHMS = optionSchema(SPEC, 'algorithm').enum
const MIN_SECRET_BYTES = 32
const MAX_LEEWAY = optionSchema(SPEC, 'leeway').maximum
const MIN_RSA_BITS = 2048

/** @type {(message: string) => never} */
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
    // Node gives every RSA key its modulus length; a key without one is refused too.
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS) fail(`publicKey RSA modulus must be at least ${MIN_RSA_BITS} bits`)
  } else if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1') {
    fail('publicKey is not an EC P-256 public key PEM (ES256)')
  }
}

/**
 * Validates the plugin options (throws a TypeError naming the option) and
 * returns them as plain JSON without the keys given as undefined.
 * @returns {Readonly<import('../../index').JwtAuthOptions>}
 */
function checkJwtOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail('options must be an object with at least algorithm')
  }
  const out = knownOptions(SPEC, options)
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
  return /** @type {import('../../index').JwtAuthOptions} */ (out) // algorithm checked above
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
 * @extends {ReconfigurableNativeRoutePlugin<'jwt-auth', typeof PluginPriority.SECURITY, Readonly<import('../../index').JwtAuthOptions>>}
 */
class JwtAuthPlugin extends ReconfigurableNativeRoutePlugin {
  /** @param {import('../../index').JwtAuthOptions} options */
  constructor(options) {
    super({ name: 'jwt-auth', priority: PluginPriority.SECURITY, kind: SPEC.kind, options: checkJwtOptions(options) })
  }

  validateModule(options) {
    const o = options || {}
    const bad = checkList(o.jwtPermissions, 'jwtPermissions')
    return bad !== true ? bad : checkList(o.jwtRoles, 'jwtRoles')
  }

  /** A hook route needs a valid token, no particular permission. */
  hookLayerOptions() {
    return { permissions: [], roles: [] }
  }

  layerOptions(h, module) {
    const route = h.options || {}
    const mod = moduleOptions(module)
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
      return undefined // no layer: no token needed
    }
    return {
      permissions: route.permissions !== undefined ? route.permissions : mod.jwtPermissions || [],
      roles: route.roles !== undefined ? route.roles : mod.jwtRoles || [],
    }
  }
}

module.exports = { JwtAuthPlugin, checkJwtOptions }
