'use strict'

// Microservice options: defaults and validation.

const DEFAULTS = {
  prefix: '',
  hostname: '0.0.0.0',
  bodyLimit: 1024 * 1024,
  handlerTimeout: 30_000,
  headerTimeout: 10_000,
  bodyTimeout: 30_000,
  maxConnections: 10_000,
  shutdownTimeout: 30_000,
  responseLimit: 16 * 1024 * 1024,
  disableDefaultPlugins: false,
  httpMode: 'auto',
}

// The native side takes these as 32-bit unsigned integers.
const MAX = 0xffffffff
const POSITIVE = /** @type {const} */ (['bodyLimit', 'responseLimit', 'handlerTimeout', 'headerTimeout', 'bodyTimeout', 'maxConnections', 'shutdownTimeout'])

const HTTP_MODES = ['auto', 'loop', 'threads']

/**
 * Validates the options and returns them frozen, with the defaults filled in.
 * @param {import('../index').MicroserviceOptions} options
 * @returns {import('../index').ResolvedOptions}
 */
function resolveOptions(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('Microservice options must be an object { name, version }')
  for (const key of /** @type {const} */ (['name', 'version'])) {
    const v = options[key]
    if (typeof v !== 'string' || v.trim() === '') {
      throw new TypeError(`Microservice option "${key}" must be a non-empty string`)
    }
  }
  for (const key of POSITIVE) {
    const v = options[key]
    if (v !== undefined && !(Number.isInteger(v) && v > 0 && v <= MAX)) {
      throw new TypeError(`Microservice option "${key}" must be an integer from 1 to ${MAX}, got ${JSON.stringify(v)}`)
    }
  }
  if (options.modules !== undefined && !Array.isArray(options.modules)) {
    throw new TypeError('Microservice option "modules" must be an array of @Module classes')
  }
  if (options.httpMode !== undefined && !HTTP_MODES.includes(options.httpMode)) {
    throw new TypeError(`Microservice option "httpMode" must be one of ${HTTP_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(options.httpMode)}`)
  }
  if (options.prefix !== undefined && typeof options.prefix !== 'string') {
    throw new TypeError('Microservice option "prefix" must be a string')
  }
  // An option given as `undefined` means "the default", not "undefined".
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  if (given.prefix !== undefined) given.prefix = normalizePrefix(given.prefix)
  return /** @type {import('../index').ResolvedOptions} */ (Object.freeze({ ...DEFAULTS, ...given }))
}

/**
 * "api/" → "/api", "/" → "".
 * @param {string} prefix
 */
function normalizePrefix(prefix) {
  const trimmed = prefix.replace(/\/+$/, '')
  if (trimmed === '') return ''
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`
}

module.exports = { DEFAULTS, resolveOptions }
