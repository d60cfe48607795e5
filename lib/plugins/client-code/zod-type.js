'use strict'

// A zod 4 schema as a TypeScript type, for the generated client (nebula's
// getZodTypeString, same output): `{ id: string; tags: string[] }`,
// `("a" | "b")`, `Date`, `Record<string, number>`. What has no TypeScript
// form (a refinement's rule, a custom check) becomes its base type or
// `unknown`. Recursive schemas (z.lazy) stop at a depth and say `unknown`.

const MAX_DEPTH = 32
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/**
 * @param {any} schema
 * @returns {any}
 */
function defOf(schema) {
  return schema && typeof schema === 'object' ? (schema._def ?? schema.def) : undefined
}

/** @param {string} key */
function propertyName(key) {
  if (IDENTIFIER.test(key)) return key
  return `'${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/** @param {unknown} v */
function literal(v) {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (typeof v === 'bigint') return `${v}n`
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  return 'unknown'
}

/**
 * @param {any} schema a zod schema
 * @param {boolean} [defaultOptional] fields with a default are optional (what a caller sends), not required (what the server returns)
 * @returns {string}
 */
function getZodTypeString(schema, defaultOptional = false) {
  /**
   * @param {any} type
   * @param {number} depth
   * @returns {string}
   */
  function processType(type, depth) {
    const def = defOf(type)
    if (!def || depth > MAX_DEPTH) return 'unknown'
    const next = (/** @type {any} */ t) => processType(t, depth + 1)
    switch (def.type) {
      case 'nullable':
        return `${next(def.innerType)} | null`
      case 'optional':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'catch':
      case 'nonoptional':
        return next(def.innerType)
      case 'pipe':
        return next(def.in)
      case 'effects':
        return next(def.schema)
      case 'lazy':
        return typeof def.getter === 'function' ? next(def.getter()) : 'unknown'
      case 'string':
      case 'template_literal':
        return 'string'
      case 'number':
      case 'int':
      case 'nan':
        return 'number'
      case 'bigint':
        return 'bigint'
      case 'boolean':
        return 'boolean'
      case 'symbol':
        return 'symbol'
      case 'date':
        return 'Date'
      case 'null':
        return 'null'
      case 'undefined':
        return 'undefined'
      case 'void':
        return 'void'
      case 'any':
        return 'any'
      case 'unknown':
        return 'unknown'
      case 'never':
        return 'never'
      case 'array': {
        const element = next(def.element)
        // A union or intersection needs parentheses (a nested one gets them too: harmless).
        return element.includes(' | ') || element.includes(' & ') ? `(${element})[]` : `${element}[]`
      }
      case 'set':
        return `Set<${next(def.valueType)}>`
      case 'tuple': {
        const items = (def.items || []).map(next)
        if (def.rest) items.push(`...${next(def.rest)}[]`)
        return `[${items.join(', ')}]`
      }
      case 'object': {
        const shape = typeof def.shape === 'function' ? def.shape() : def.shape || {}
        const props = Object.entries(shape).map(([key, value]) => {
          const fieldDef = defOf(value)
          const optional = fieldDef?.type === 'optional' || (defaultOptional && fieldDef?.type === 'default')
          return `${propertyName(key)}${optional ? '?' : ''}: ${next(value)}`
        })
        return props.length === 0 ? '{}' : `{ ${props.join('; ')} }`
      }
      case 'union':
        return (def.options || []).map(next).join(' | ')
      case 'intersection':
        return `(${next(def.left)}) & (${next(def.right)})`
      case 'promise':
        return `Promise<${next(def.type === 'promise' ? def.innerType : def.type)}>`
      case 'record': {
        if (def.valueType) return `Record<${def.keyType ? next(def.keyType) : 'string'}, ${next(def.valueType)}>`
        if (def.keyType) return `Record<string, ${next(def.keyType)}>`
        return 'Record<string, any>'
      }
      case 'map':
        return `Map<${next(def.keyType)}, ${next(def.valueType)}>`
      case 'enum': {
        const values = def.entries ? Object.values(def.entries) : []
        return `(${values.map(literal).join(' | ')})`
      }
      case 'literal': {
        const values = def.values || []
        return values.length === 0 ? 'unknown' : values.map(literal).join(' | ')
      }
      default: {
        try {
          if (typeof type.safeParse === 'function' && type.safeParse(new Uint8Array()).success) return 'Uint8Array'
        } catch {
          // a check that throws on a Uint8Array: not a byte array
        }
        return 'unknown'
      }
    }
  }
  return processType(schema, 0)
}

module.exports = { getZodTypeString }
