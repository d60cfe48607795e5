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

const PARTS = /** @type {const} */ (['body', 'query', 'params', 'headers'])

/** @type {WeakMap<object, import('../index').RouteJsonSchemas>} */
const converted = new WeakMap()

/**
 * A route's schemas as JSON Schema: `validate`'s parts (`body`, `query`, `params`, `headers`) and
 * `returns`, from a `@Route` handler's metadata (zod schemas converted once, then remembered).
 * What Rust checks requests against; what an OpenAPI document or a client generator reads.
 * Throws a TypeError naming the route and the part for anything that is not a schema.
 * @param {import('../index').HandlerMetadata} handler
 * @returns {import('../index').RouteJsonSchemas}
 */
function routeSchemas(handler) {
  const known = converted.get(handler)
  if (known) return known
  const opts = /** @type {Record<string, unknown>} */ (handler.options ?? {})
  const methods = Array.isArray(opts.method) ? opts.method.join(',') : String(opts.method ?? 'GET')
  const route = `@Route ${methods.toUpperCase()} ${Array.isArray(opts.path) ? opts.path.join(',') : String(opts.path)}`
  /** @type {import('../index').RouteJsonSchemas} */
  const out = {}
  const validate = opts.validate
  if (validate !== undefined && validate !== null) {
    if (typeof validate !== 'object' || Array.isArray(validate))
      throw new TypeError(`${route}: validate must be an object { body?, query?, params?, headers? }`)
    for (const key of Object.keys(validate)) {
      if (!(/** @type {readonly string[]} */ (PARTS).includes(key))) {
        throw new TypeError(`${route}: validate.${key} is not a part of a request: use body, query, params or headers`)
      }
    }
    const parts = /** @type {Record<string, unknown>} */ (validate)
    for (const part of PARTS) {
      if (parts[part] !== undefined) out[part] = toJsonSchema(parts[part], `${route} validate.${part}`)
    }
  }
  if (opts.returns !== undefined) out.returns = toJsonSchema(opts.returns, `${route} returns`, 'output')
  Object.freeze(out)
  converted.set(handler, out)
  return out
}

module.exports = { isZodSchema, toJsonSchema, routeSchemas }
