'use strict'

// nebula-engine's lenient coercion of action arguments before zod sees them:
// a query string gives strings, so "42" becomes 42 for a number parameter and
// "true"/"1"/"yes" true for a boolean one; null or "" becomes undefined for an
// optional parameter (null for a nullable one). Only the top level of each
// positional argument is coerced, as nebula does.

/** @typedef {{ coerceStringToNumber?: boolean, coerceNumberToString?: boolean, coerceStringToBoolean?: boolean, coerceNumberToBoolean?: boolean, coerceNullToOptional?: boolean }} CoerceOptions */

/** @type {Required<CoerceOptions>} */
const DEFAULT_COERCE_OPTIONS = Object.freeze({
  coerceStringToNumber: true,
  coerceNumberToString: false,
  coerceStringToBoolean: true,
  coerceNumberToBoolean: true,
  coerceNullToOptional: true,
})

/** @param {unknown} v */
const isNumber = (v) => typeof v === 'number' && !Number.isNaN(v)

/**
 * zod 4's kind of a schema (`def.type`): "string", "optional", …
 * @param {any} schema
 * @returns {string | undefined}
 */
function kindOf(schema) {
  if (!schema || typeof schema !== 'object') return undefined
  const def = schema.def ?? schema._def
  return def && typeof def.type === 'string' ? def.type : undefined
}

/**
 * @param {any} schema
 * @param {'optional' | 'nullable'} kind
 */
function accepts(schema, kind) {
  if (kindOf(schema) === kind) return true
  const test = kind === 'optional' ? schema?.isOptional : schema?.isNullable
  if (typeof test !== 'function') return false
  try {
    return test.call(schema) === true
  } catch {
    return false
  }
}

/**
 * The kind under optional/nullable wrappers.
 * @param {any} schema
 * @returns {string | undefined}
 */
function targetKind(schema) {
  for (let s = schema, depth = 0; depth < 32; depth++) {
    const kind = kindOf(s)
    if (kind !== 'optional' && kind !== 'nullable') return kind
    const def = s.def ?? s._def
    s = def.innerType
  }
  return undefined
}

/**
 * @param {string} value
 * @returns {number | undefined}
 */
function stringToNumber(value) {
  const trimmed = value.trim()
  if (trimmed === '') return undefined
  const n = Number(trimmed)
  return isNumber(n) ? n : undefined
}

/**
 * @param {string} value
 * @returns {boolean | undefined}
 */
function stringToBoolean(value) {
  const v = value.toLowerCase().trim()
  if (v === 'true' || v === '1' || v === 'yes') return true
  if (v === 'false' || v === '0' || v === 'no') return false
  return undefined
}

/**
 * One argument, coerced toward its schema (returned as is when nothing applies).
 * @param {unknown} value
 * @param {unknown} schema
 * @param {CoerceOptions} options
 */
function coerceValue(value, schema, options) {
  if (value === undefined) return value
  if (value === null) {
    if (options.coerceNullToOptional && !accepts(schema, 'nullable') && accepts(schema, 'optional')) return undefined
    return null
  }
  if (typeof value === 'string' && value.trim() === '' && (accepts(schema, 'optional') || accepts(schema, 'nullable'))) {
    return accepts(schema, 'nullable') ? null : undefined
  }
  const kind = targetKind(schema)
  if (kind === 'number' && typeof value === 'string' && options.coerceStringToNumber) {
    const n = stringToNumber(value)
    if (n !== undefined) return n
  }
  if (kind === 'boolean' && typeof value === 'string' && options.coerceStringToBoolean) {
    const b = stringToBoolean(value)
    if (b !== undefined) return b
  }
  if (kind === 'string' && isNumber(value) && options.coerceNumberToString) return String(value)
  if (kind === 'boolean' && isNumber(value) && options.coerceNumberToBoolean) return value !== 0
  return value
}

/**
 * The positional arguments `{"0": a, "1": b, …}` (or an array) as a list, each coerced toward its schema.
 * Keys that are not an argument's index are ignored.
 * @param {unknown} body
 * @param {readonly unknown[]} schemas
 * @param {CoerceOptions} [options]
 * @returns {unknown[]}
 */
function coerceArgs(body, schemas, options = DEFAULT_COERCE_OPTIONS) {
  const source = body !== null && typeof body === 'object' ? /** @type {Record<string, unknown>} */ (body) : {}
  const args = []
  for (let i = 0; i < schemas.length; i++) {
    const key = String(i)
    const value = Object.hasOwn(source, key) ? source[key] : undefined
    args.push(coerceValue(value, schemas[i], options))
  }
  return args
}

module.exports = { coerceArgs, coerceValue, DEFAULT_COERCE_OPTIONS }
