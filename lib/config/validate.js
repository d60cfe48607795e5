'use strict'

// A validator for the subset of JSON Schema (draft 2020-12) that
// schema/nebula.config.schema.json uses: type, enum, const, properties,
// required, additionalProperties, items, minItems, maxItems, minLength,
// minimum, maximum, pattern, anyOf and $ref (to "#/$defs/…"). Annotations
// (description, default, title) are ignored; `x-expected` is ours: the words
// used for the expected value in messages.
//
// validate() reports every error, each as { path, message }: the path of the
// value (`plugins.rateLimit.maxRequests`, `services[0].command`) and what is
// wrong with it (`must be an integer from 1 to 1000000000, got "x"`).

const IDENT = /^[A-Za-z_$][\w$]*$/

/** `base` + `.key` (or `["odd key"]`). */
function joinPath(base, key) {
  if (typeof key === 'number') return `${base}[${key}]`
  const part = IDENT.test(key) ? key : `[${JSON.stringify(key)}]`
  if (base === '') return part
  return part.startsWith('[') ? base + part : `${base}.${part}`
}

/** A value as messages show it: JSON for scalars, its kind for the rest. */
function show(v) {
  if (Array.isArray(v)) return 'an array'
  if (v !== null && typeof v === 'object') return 'an object'
  // JSON.parse turns 1e400 into Infinity, which JSON.stringify would show as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return 'a number too large to represent'
  const text = JSON.stringify(v)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function jsonType(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function hasType(type, v) {
  const t = jsonType(v)
  return (Array.isArray(type) ? type : [type]).some((want) => want === t || (want === 'number' && t === 'integer'))
}

function deref(root, schema) {
  let s = schema
  while (s?.$ref) {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref)
    if (!m || !root.$defs?.[m[1]]) throw new Error(`schema: unsupported $ref ${s.$ref}`)
    // Keywords beside $ref (description, default) are annotations here.
    s = root.$defs[m[1]]
  }
  return s
}

function range(noun, s) {
  const lo = s.minimum
  const hi = s.maximum
  if (lo !== undefined && hi !== undefined) return `${noun} from ${lo} to ${hi}`
  if (lo === 0) return `a non-negative ${noun.replace(/^an? /, '')}`
  if (lo !== undefined) return `${noun} ≥ ${lo}`
  if (hi !== undefined) return `${noun} ≤ ${hi}`
  return noun
}

/** The expected value in words: "an integer from 0 to 65535", "one of "json", "pretty"". */
function describe(root, schema) {
  const s = deref(root, schema)
  if (s['x-expected']) return s['x-expected']
  if (s.anyOf) return [...new Set(s.anyOf.map((b) => describe(root, b)))].join(' or ')
  if ('const' in s) return JSON.stringify(s.const)
  if (s.enum) return s.enum.length === 1 ? JSON.stringify(s.enum[0]) : `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`
  const types = Array.isArray(s.type) ? s.type : [s.type]
  return types
    .map((t) => {
      switch (t) {
        case 'integer':
          return range('an integer', s)
        case 'number':
          return range('a number', s)
        case 'string':
          return s.minLength ? 'a non-empty string' : 'a string'
        case 'boolean':
          return 'true or false'
        case 'array':
          return s.items && deref(root, s.items).type === 'string' ? 'an array of strings' : 'an array'
        case 'object':
          return 'an object'
        case 'null':
          return 'null'
        default:
          return 'anything'
      }
    })
    .join(' or ')
}

/** Types a schema can accept, for choosing which anyOf branch an error belongs to. */
function acceptedTypes(root, schema) {
  const s = deref(root, schema)
  if (s.type) return Array.isArray(s.type) ? s.type : [s.type]
  if ('const' in s) return [jsonType(s.const)]
  if (s.enum) return s.enum.map(jsonType)
  if (s.anyOf) return s.anyOf.flatMap((b) => acceptedTypes(root, b))
  return ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object']
}

/** A close name among `known`, for "did you mean" (case or one typo away). */
function closest(key, known) {
  const lower = key.toLowerCase()
  const exact = known.find((k) => k.toLowerCase() === lower)
  if (exact) return exact
  return known.find((k) => editDistance(k.toLowerCase(), lower) <= 2)
}

function editDistance(a, b) {
  if (Math.abs(a.length - b.length) > 2) return 3
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]
}

function check(root, schema, value, path, errors) {
  const s = deref(root, schema)
  const fail = (message) => errors.push({ path, message })
  const expected = () => `must be ${describe(root, s)}, got ${show(value)}`

  if (s.anyOf) return checkAnyOf(root, s, value, path, errors)
  if (s.type !== undefined && !hasType(s.type, value)) return fail(expected())
  if ('const' in s && value !== s.const) return fail(expected())
  if (s.enum && !s.enum.includes(value)) return fail(expected())

  if (typeof value === 'number') {
    if ((s.minimum !== undefined && value < s.minimum) || (s.maximum !== undefined && value > s.maximum)) return fail(expected())
  } else if (typeof value === 'string') {
    if (s.minLength !== undefined && value.length < s.minLength) return fail(expected())
    if (s.maxLength !== undefined && value.length > s.maxLength) return fail(expected())
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) {
      return fail(s['x-expected'] ? expected() : `must match /${s.pattern}/, got ${show(value)}`)
    }
  } else if (Array.isArray(value)) {
    const n = value.length
    if (s.minItems !== undefined && n < s.minItems) return fail(`must have at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}, got ${n}`)
    if (s.maxItems !== undefined && n > s.maxItems) return fail(`must have at most ${s.maxItems} item${s.maxItems === 1 ? '' : 's'}, got ${n}`)
    if (s.items) {
      value.forEach((item, i) => {
        check(root, s.items, item, joinPath(path, i), errors)
      })
    }
  } else if (value !== null && typeof value === 'object') {
    checkObject(root, s, value, path, errors)
  }
}

function checkObject(root, s, value, path, errors) {
  const props = s.properties || {}
  // Own keys only, on both sides: a key named after an Object.prototype member
  // (toString, constructor, and the own "__proto__" JSON.parse creates) is unknown, not inherited.
  const known = (key) => Object.hasOwn(props, key)
  for (const key of s.required || []) {
    if (!Object.hasOwn(value, key) || value[key] === undefined) errors.push({ path: joinPath(path, key), message: 'is required' })
  }
  for (const [key, v] of Object.entries(value)) {
    if (known(key)) {
      check(root, props[key], v, joinPath(path, key), errors)
    } else if (s.additionalProperties === false) {
      const known = Object.keys(props)
      const near = closest(key, known)
      const hint = near ? `did you mean "${near}"?` : `known keys: ${known.join(', ')}`
      errors.push({ path: joinPath(path, key), message: `unknown key (${hint})` })
    } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
      check(root, s.additionalProperties, v, joinPath(path, key), errors)
    }
  }
}

function checkAnyOf(root, s, value, path, errors) {
  const results = s.anyOf.map((branch) => {
    const out = []
    check(root, branch, value, path, out)
    return out
  })
  if (results.some((r) => r.length === 0)) return
  // The errors of the one structured branch of the value's type are the useful
  // ones (plugins.cors.origins[0] …); otherwise say what the value may be.
  const t = jsonType(value)
  const candidates = s.anyOf
    .map((branch, i) => ({ i, types: acceptedTypes(root, branch) }))
    .filter(({ types }) => types.includes(t) || (t === 'integer' && types.includes('number')))
  const structured = t === 'object' || t === 'array'
  if (structured && candidates.length >= 1) {
    const best = candidates.map(({ i }) => results[i]).sort((a, b) => a.length - b.length)[0]
    errors.push(...best)
    return
  }
  if (candidates.length === 1 && !structured && results[candidates[0].i].every((e) => e.path === path)) {
    // e.g. an integer of the wrong range, a string not matching: that branch says why.
    const own = deref(root, s.anyOf[candidates[0].i])
    if (own.type) return errors.push(...results[candidates[0].i])
  }
  errors.push({ path, message: `must be ${describe(root, s)}, got ${show(value)}` })
}

/** Every error of `value` against `schema` (the root, holding the $defs). */
function validate(schema, value) {
  const errors = []
  check(schema, schema, value, '', errors)
  return errors
}

module.exports = { validate, joinPath, show, closest }
