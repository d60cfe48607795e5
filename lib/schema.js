'use strict'

// Schemas as users write them: JSON Schema objects, or zod schemas. A zod
// schema is told by its shape (Standard Schema's `~standard.vendor`), never by
// `instanceof`: the user's copy of zod need not be ours. It is turned into JSON
// Schema by zod's own export (zod 4's `schema.toJSONSchema()`), so Rust, the
// OpenAPI document and the generated client all read one form.

/**
 * True for a zod schema (any copy of zod 4, or zod 3.24+ which also carries `~standard`).
 * @param {unknown} value
 * @returns {boolean}
 */
function isZodSchema(value) {
  if (value === null || typeof value !== 'object') return false
  const std = /** @type {{ '~standard'?: { vendor?: unknown } }} */ (value)['~standard']
  return std !== null && typeof std === 'object' && std.vendor === 'zod'
}

/**
 * The JSON Schema of `schema` (a JSON Schema object, `true`/`false`, or a zod 4 schema).
 * `io: 'input'` describes what a client sends (before defaults and transforms), `'output'` what the handler returns.
 * @param {unknown} schema
 * @param {string} where who asks, for the error text, e.g. `@Route GET /users validate.body`
 * @param {'input' | 'output'} [io]
 * @returns {Record<string, unknown> | boolean}
 */
function toJsonSchema(schema, where, io = 'input') {
  if (typeof schema === 'boolean') return schema
  if (isZodSchema(schema)) {
    const zod = /** @type {{ toJSONSchema?: (o: object) => Record<string, unknown> }} */ (schema)
    if (typeof zod.toJSONSchema !== 'function') {
      throw new TypeError(`${where}: this zod schema has no toJSONSchema() (zod 3?): use zod 4, or pass a JSON Schema object`)
    }
    try {
      return zod.toJSONSchema({ io, unrepresentable: 'any' })
    } catch (err) {
      throw new TypeError(`${where}: zod could not turn this schema into JSON Schema: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  if (schema !== null && typeof schema === 'object' && !Array.isArray(schema)) return /** @type {Record<string, unknown>} */ (schema)
  throw new TypeError(
    `${where}: expected a JSON Schema object or a zod schema, got ${schema === null ? 'null' : Array.isArray(schema) ? 'an array' : typeof schema}`,
  )
}

module.exports = { isZodSchema, toJsonSchema }
