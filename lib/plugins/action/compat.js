'use strict'

// nebula-engine's action helpers under their own names and shapes (its
// `type-coercion.ts` and `utils.ts`, which its package exports in part:
// coerceBody): `{ success, value | error }` coercions, `coerceBody` keeping
// unknown keys, `parseAndValidateParams` → `{ success, data | error.issues }`.
// The plugin itself uses ./coerce and ./params.

const { coerceValue, DEFAULT_COERCE_OPTIONS } = require('./coerce')
const { validateArgs, buildActionPath } = require('./params')

/** @typedef {import('./coerce').CoerceOptions} CoerceOptions */

/** @param {unknown} v */
const isNumber = (v) => typeof v === 'number' && !Number.isNaN(v)

/** @param {unknown} value */
function coerceStringToNumber(value) {
  if (isNumber(value)) return { success: true, value }
  if (typeof value === 'string') {
    const trimmed = value.trim()
    if (trimmed === '') return { success: false, error: 'Empty string cannot be converted to number' }
    const n = Number(trimmed)
    if (isNumber(n)) return { success: true, value: n }
    return { success: false, error: `String "${value}" cannot be parsed as number` }
  }
  return { success: false, error: `Cannot convert ${typeof value} to number` }
}

/** @param {unknown} value */
function coerceNumberToString(value) {
  if (typeof value === 'string') return { success: true, value }
  if (isNumber(value) || typeof value === 'boolean') return { success: true, value: String(value) }
  return { success: false, error: `Cannot convert ${typeof value} to string` }
}

/** @param {unknown} value */
function coerceStringToBoolean(value) {
  if (typeof value === 'boolean') return { success: true, value }
  if (typeof value === 'string') {
    const v = value.toLowerCase().trim()
    if (v === 'true' || v === '1' || v === 'yes') return { success: true, value: true }
    if (v === 'false' || v === '0' || v === 'no') return { success: true, value: false }
    return { success: false, error: `String "${value}" cannot be parsed as boolean` }
  }
  if (isNumber(value)) return { success: true, value: value !== 0 }
  return { success: false, error: `Cannot convert ${typeof value} to boolean` }
}

/** @param {unknown} value */
function coerceNumberToBoolean(value) {
  if (typeof value === 'boolean') return { success: true, value }
  if (isNumber(value)) return { success: true, value: value !== 0 }
  if (typeof value === 'string') return coerceStringToBoolean(value)
  return { success: false, error: `Cannot convert ${typeof value} to boolean` }
}

/** @param {any} schema */
const kindOf = (schema) => (schema && typeof schema === 'object' ? (schema.def ?? schema._def)?.type : undefined)

/** @param {any} schema */
function isOptional(schema) {
  if (!schema || typeof schema !== 'object') return false
  if (kindOf(schema) === 'optional') return true
  return typeof schema.isOptional === 'function' ? schema.isOptional() : false
}

/** @param {any} schema */
function isNullable(schema) {
  if (!schema || typeof schema !== 'object') return false
  if (kindOf(schema) === 'nullable') return true
  return typeof schema.isNullable === 'function' ? schema.isNullable() : false
}

const isStringType = (/** @type {any} */ s) => kindOf(s) === 'string'
const isNumberType = (/** @type {any} */ s) => kindOf(s) === 'number'
const isBooleanType = (/** @type {any} */ s) => kindOf(s) === 'boolean'

/**
 * The body with each positional argument coerced toward its schema; other keys kept as they are.
 * @param {any} body
 * @param {any[]} schemas
 * @param {CoerceOptions} [options]
 */
function coerceBody(body, schemas, options = DEFAULT_COERCE_OPTIONS) {
  if (!body || typeof body !== 'object') return body
  if (!Array.isArray(schemas) || schemas.length === 0) return body
  /** @type {Record<string, unknown>} */
  const out = {}
  for (const key of Object.keys(body)) {
    const index = Number.parseInt(key, 10)
    const value = Number.isNaN(index) || index < 0 || index >= schemas.length ? body[key] : coerceValue(body[key], schemas[index], options)
    // Defined, not assigned: a "__proto__" key stays a key.
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/**
 * A schema of the whole `{"0": a, "1": b}` object (nebula's z.object of the arguments; unknown keys dropped).
 * @param {any[]} schemas
 */
function buildParamsSchema(schemas) {
  return {
    /** @param {any} body */
    safeParse(body) {
      const source = body !== null && typeof body === 'object' ? body : {}
      const input = schemas.map((_, i) => (Object.hasOwn(source, String(i)) ? source[String(i)] : undefined))
      const r = validateArgs(input, schemas)
      if (!r.success) return r
      /** @type {Record<string, unknown>} */
      const data = {}
      r.data.forEach((v, i) => {
        if (v !== undefined || Object.hasOwn(source, String(i))) data[String(i)] = v
      })
      return { success: true, data }
    },
  }
}

/**
 * The arguments as a list, coerced and checked: `{ success: true, data }` or `{ success: false, error: { issues } }`.
 * @param {any} body
 * @param {any[]} schemas
 * @param {CoerceOptions} [options]
 */
function parseAndValidateParams(body, schemas, options) {
  if (schemas.length === 0) return { success: true, data: [] }
  const coerced = coerceBody(body && typeof body === 'object' ? body : {}, schemas, options)
  const input = schemas.map((_, i) => (Object.hasOwn(coerced, String(i)) ? coerced[String(i)] : undefined))
  return validateArgs(input, schemas)
}

module.exports = {
  coerceStringToNumber,
  coerceNumberToString,
  coerceStringToBoolean,
  coerceNumberToBoolean,
  isOptional,
  isNullable,
  isStringType,
  isNumberType,
  isBooleanType,
  coerceBody,
  buildParamsSchema,
  parseAndValidateParams,
  buildActionPath,
}
