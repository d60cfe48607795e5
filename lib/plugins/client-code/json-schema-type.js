'use strict'

// A JSON Schema as a TypeScript type, for routes validated by JSON Schema
// objects: `{ id: string; tags?: string[] }`. What has no TypeScript form
// (a $ref, a pattern, a format) becomes its base type or `unknown`.

const MAX_DEPTH = 32
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** @param {string} key */
const propertyName = (key) => (IDENTIFIER.test(key) ? key : `'${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)

/** @param {unknown} v */
function literal(v) {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return JSON.stringify(v)
  return 'unknown'
}

/**
 * @param {unknown} schema
 * @returns {string}
 */
function jsonSchemaType(schema) {
  /**
   * @param {unknown} s
   * @param {number} depth
   * @returns {string}
   */
  function typeOf(s, depth) {
    if (s === true || s === undefined) return 'unknown'
    if (s === false) return 'never'
    if (s === null || typeof s !== 'object' || depth > MAX_DEPTH) return 'unknown'
    const o = /** @type {Record<string, any>} */ (s)
    const next = (/** @type {unknown} */ x) => typeOf(x, depth + 1)
    if ('const' in o) return literal(o.const)
    if (Array.isArray(o.enum)) return o.enum.length === 0 ? 'never' : o.enum.map(literal).join(' | ')
    const union = o.anyOf ?? o.oneOf
    if (Array.isArray(union)) return union.map(next).join(' | ') || 'unknown'
    if (Array.isArray(o.allOf)) return o.allOf.map((x) => `(${next(x)})`).join(' & ') || 'unknown'
    const types = Array.isArray(o.type) ? o.type : o.type === undefined ? [] : [o.type]
    if (types.length === 0) return o.properties ? objectType(o, next) : 'unknown'
    return types
      .map((/** @type {unknown} */ t) => {
        switch (t) {
          case 'string':
            return 'string'
          case 'number':
          case 'integer':
            return 'number'
          case 'boolean':
            return 'boolean'
          case 'null':
            return 'null'
          case 'array': {
            if (Array.isArray(o.prefixItems)) return `[${o.prefixItems.map(next).join(', ')}]`
            const item = next(o.items)
            return item.includes(' | ') || item.includes(' & ') ? `(${item})[]` : `${item}[]`
          }
          case 'object':
            return objectType(o, next)
          default:
            return 'unknown'
        }
      })
      .join(' | ')
  }

  /**
   * @param {Record<string, any>} o
   * @param {(x: unknown) => string} next
   */
  function objectType(o, next) {
    const required = new Set(Array.isArray(o.required) ? o.required : [])
    const props = Object.entries(o.properties ?? {}).map(([k, v]) => `${propertyName(k)}${required.has(k) ? '' : '?'}: ${next(v)}`)
    const extra = o.additionalProperties
    if (props.length === 0) return extra && typeof extra === 'object' ? `Record<string, ${next(extra)}>` : 'Record<string, unknown>'
    return `{ ${props.join('; ')} }`
  }

  return typeOf(schema, 0)
}

/**
 * True when a JSON Schema accepts an object without any property (nothing required).
 * @param {unknown} schema
 */
function jsonSchemaAllOptional(schema) {
  if (schema === null || typeof schema !== 'object') return schema === true
  const required = /** @type {Record<string, unknown>} */ (schema).required
  return !Array.isArray(required) || required.length === 0
}

module.exports = { jsonSchemaType, jsonSchemaAllOptional }
