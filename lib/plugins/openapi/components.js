'use strict'

// The document's `components.schemas`: where the JSON Schemas of routes and actions put what
// their refs point at. A schema's own `$defs`/`definitions` (zod writes `#/$defs/__schema0` for a
// z.lazy, `#/$defs/User` for a schema with an id) and, when something refers to it (`"$ref": "#"`:
// a recursive root), the schema itself become components with unique names, and the refs are
// rewritten to `#/components/schemas/…`: inside an OpenAPI document `#` is the document's root.
// The same definition met twice (one zod schema used by several routes) is stored once.

const REF_PREFIX = '#/components/schemas/'

// Keywords whose values are data, not schemas: a `$ref` inside them is no reference.
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example'])

/** A component name OpenAPI accepts (`^[a-zA-Z0-9._-]+$`). */
const sanitize = (/** @type {string} */ name) => name.replace(/[^A-Za-z0-9._-]/g, '_') || 'Schema'

/** One JSON Pointer token of a URI fragment, decoded (`%25` → `%`, `~1` → `/`, `~0` → `~`). */
function decodeToken(/** @type {string} */ token) {
  let text = token
  try {
    text = decodeURIComponent(token)
  } catch {
    // not percent-encoded: as written
  }
  return text.replace(/~1/g, '/').replace(/~0/g, '~')
}

/** Deep equality of two JSON values. */
function sameJson(/** @type {unknown} */ a, /** @type {unknown} */ b) {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * Calls `visit` with every `$ref` string of `schema` (not those inside data keywords).
 * @param {unknown} schema
 * @param {(ref: string) => void} visit
 */
function eachRef(schema, visit) {
  if (Array.isArray(schema)) {
    for (const item of schema) eachRef(item, visit)
    return
  }
  if (schema === null || typeof schema !== 'object') return
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') visit(value)
    else if (!DATA_KEYWORDS.has(key)) eachRef(value, visit)
  }
}

/**
 * A copy of `schema` whose local refs are rewritten by `rewrite` (undefined: kept as written).
 * @param {unknown} schema
 * @param {(ref: string) => string | undefined} rewrite
 * @returns {unknown}
 */
function withRefs(schema, rewrite) {
  if (Array.isArray(schema)) return schema.map((item) => withRefs(item, rewrite))
  if (schema === null || typeof schema !== 'object') return schema
  /** @type {Record<string, unknown>} */
  const out = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') out[key] = rewrite(value) ?? value
    else if (DATA_KEYWORDS.has(key)) out[key] = value
    else out[key] = withRefs(value, rewrite)
  }
  return out
}

/**
 * A schema without `$schema` (the document's dialect applies) and `$id` (it would change what
 * the rewritten refs inside it resolve against).
 * @param {unknown} schema
 */
function unanchored(schema) {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema
  const { $schema: _dialect, $id: _id, ...rest } = /** @type {Record<string, unknown>} */ (schema)
  return rest
}

/** The root of a schema without its definitions (they become components). */
function rootless(/** @type {Record<string, unknown>} */ schema) {
  const { $defs: _defs, definitions: _definitions, ...rest } = /** @type {Record<string, unknown>} */ (unanchored(schema))
  return rest
}

/** `#/$defs/X/…` → `{ keyword: '$defs', key: 'X', rest: '/…' }`; anything else: undefined. */
function defPointer(/** @type {string} */ ref) {
  const m = /^#\/(\$defs|definitions)\/([^/]+)(.*)$/.exec(ref)
  return m ? { keyword: m[1], key: decodeToken(m[2]), rest: m[3] } : undefined
}

/** A root-relative ref (`#`, `#/properties/a`), not one into the definitions. */
const isRootRef = (/** @type {string} */ ref) => (ref === '#' || ref.startsWith('#/')) && defPointer(ref) === undefined

class Components {
  constructor() {
    /** @type {Record<string, unknown>} */
    this.schemas = {}
    /** What a schema became (a route on several paths is adopted once). @type {Map<object, { use: unknown, content: unknown }>} */
    this._adopted = new Map()
  }

  /**
   * Stores `schema` under `name` (the document's own components: Error, …).
   * @param {string} name
   * @param {unknown} schema
   */
  define(name, schema) {
    this.schemas[name] = schema
    return { $ref: REF_PREFIX + name }
  }

  /**
   * `base`, else `base_2`, `base_3`… : a name no component has and `taken` does not hold (then added to it).
   * @param {string} base
   * @param {Set<string>} taken
   */
  _fresh(base, taken) {
    let name = base
    for (let n = 2; name in this.schemas || taken.has(name); n++) name = `${base}_${n}`
    taken.add(name)
    return name
  }

  /**
   * A schema made fit for the document: its definitions (and itself when it is referred to)
   * moved into the components and its refs rewritten.
   * `use` is what an operation puts where the schema goes (a `$ref` to it when it became a
   * component); `content` is the schema itself (to read the properties of an object schema from).
   * @param {unknown} schema a JSON Schema (object or boolean), as routeSchemas/toJsonSchema give it
   * @param {string} base the name of the schema as a component, when it must become one (`users.create.body`)
   * @returns {{ use: unknown, content: unknown }}
   */
  adopt(schema, base) {
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return { use: schema, content: schema }
    const known = this._adopted.get(schema)
    if (known) return known
    const adopted = this._adopt(/** @type {Record<string, unknown>} */ (schema), base)
    this._adopted.set(schema, adopted)
    return adopted
  }

  /**
   * @param {Record<string, unknown>} s
   * @param {string} base
   * @returns {{ use: unknown, content: unknown }}
   */
  _adopt(s, base) {
    /** @type {{ keyword: string, key: string, schema: unknown, name: string }[]} */
    const defs = []
    for (const keyword of ['$defs', 'definitions']) {
      const group = s[keyword]
      if (group === null || typeof group !== 'object' || Array.isArray(group)) continue
      for (const [key, def] of Object.entries(group)) {
        // zod's names for unnamed definitions (__schema0) are only unique within one schema.
        const name = /^__schema\d+$/.test(key) ? `${base}.${key.replace(/^_+/, '')}` : key
        defs.push({ keyword, key, schema: def, name: sanitize(name) })
      }
    }
    const root = rootless(s)
    let referred = false
    const note = (/** @type {string} */ ref) => {
      if (isRootRef(ref)) referred = true
    }
    eachRef(root, note)
    for (const d of defs) eachRef(d.schema, note)
    if (defs.length === 0 && !referred) return { use: root, content: root }

    const rootName = sanitize(base)
    // First the names as written (a definition met again is then stored once); when one is
    // taken by another schema, fresh names for all.
    let placed = this._place(root, rootName, referred, defs, (name) => name)
    const taken = new Set()
    if (!placed) placed = this._place(root, rootName, referred, defs, (name) => this._fresh(name, taken))
    const { names, rootContent, rootRef } = /** @type {NonNullable<typeof placed>} */ (placed)
    for (const [name, content] of names) this.schemas[name] = content
    return { use: rootRef ?? rootContent, content: rootContent }
  }

  /**
   * The components of one schema under the names `nameOf` picks; undefined when a name is
   * taken by a different schema.
   * @param {Record<string, unknown>} root
   * @param {string} rootName
   * @param {boolean} referred
   * @param {{ keyword: string, key: string, schema: unknown, name: string }[]} defs
   * @param {(name: string) => string} nameOf
   */
  _place(root, rootName, referred, defs, nameOf) {
    const chosen = new Map(defs.map((d) => [`${d.keyword}/${d.key}`, nameOf(d.name)]))
    const rootTarget = referred ? nameOf(rootName) : undefined
    // Two definitions of this schema given the same name (`a b` and `a_b`): fresh names.
    const all = [...chosen.values(), ...(rootTarget ? [rootTarget] : [])]
    if (new Set(all).size !== all.length) return undefined
    /** @param {string} ref */
    const rewrite = (ref) => {
      const def = defPointer(ref)
      if (def) {
        const name = chosen.get(`${def.keyword}/${def.key}`)
        return name === undefined ? undefined : REF_PREFIX + name + def.rest
      }
      return rootTarget && isRootRef(ref) ? REF_PREFIX + rootTarget + ref.slice(1) : undefined
    }
    /** @type {[string, unknown][]} */
    const names = defs.map((d) => {
      const content = withRefs(unanchored(d.schema), rewrite)
      return [/** @type {string} */ (chosen.get(`${d.keyword}/${d.key}`)), content]
    })
    const rootContent = withRefs(root, rewrite)
    if (rootTarget) names.push([rootTarget, rootContent])
    for (const [name, content] of names) {
      if (name in this.schemas && !sameJson(this.schemas[name], content)) return undefined
    }
    return { names, rootContent, rootRef: rootTarget ? { $ref: REF_PREFIX + rootTarget } : undefined }
  }
}

module.exports = { Components }
