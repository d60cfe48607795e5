'use strict'

// The schema'd @Route handlers in the generated client: a route whose
// `validate` names a `params`, `query` or `body` schema (zod or JSON Schema)
// gets a typed function, `client.routes.userService.getUser({ params, query, body })`,
// resolving to the answer (JSON parsed, text otherwise). A route with several
// methods or paths is called with the first of each.

const { isZodSchema } = require('../../schema')
const { joinPath } = require('../../route-plugin')
const { getZodTypeString } = require('./zod-type')
const { jsonSchemaType, jsonSchemaAllOptional } = require('./json-schema-type')

/**
 * @typedef {object} RouteInfo
 * @property {string} module the module's name
 * @property {string} name the method's name
 * @property {string} [description]
 * @property {string} method
 * @property {string} path the full path, `:name` segments included
 * @property {unknown} [params]
 * @property {unknown} [query]
 * @property {unknown} [body]
 * @property {unknown} [response]
 */

/** @param {unknown} s */
const typeOf = (s) => (isZodSchema(s) ? getZodTypeString(s, true) : jsonSchemaType(s))

/**
 * Whether a value may be left out: a zod schema that accepts undefined or an object whose fields all may be missing; a JSON Schema requiring nothing.
 * @param {any} s
 */
function mayOmit(s) {
  if (!isZodSchema(s)) return jsonSchemaAllOptional(s)
  try {
    if (typeof s.isOptional === 'function' && s.isOptional()) return true
  } catch {
    return false
  }
  const def = s._def ?? s.def
  if (def?.type !== 'object') return false
  const shape = typeof def.shape === 'function' ? def.shape() : def.shape || {}
  return Object.values(shape).every((f) => ['optional', 'default'].includes(/** @type {any} */ (f._def ?? /** @type {any} */ (f).def)?.type))
}

/**
 * The schema'd routes among `handlers`.
 * @param {import('../../../index').HandlerMetadata[]} handlers
 * @param {(clazz: new (...args: any[]) => any) => import('../../../index').ModuleMetadata | undefined} moduleOf
 * @param {string | undefined} routePrefix RoutePlugin's `prefix`
 * @returns {RouteInfo[]}
 */
function collectRoutes(handlers, moduleOf, routePrefix) {
  /** @type {RouteInfo[]} */
  const out = []
  for (const h of handlers) {
    if (h.type !== 'route') continue
    const opts = /** @type {import('../../../index').RouteOptions} */ (h.options || {})
    const v = /** @type {{ params?: unknown, query?: unknown, body?: unknown } | undefined} */ (opts.validate)
    if (!v || (v.params === undefined && v.query === undefined && v.body === undefined)) continue
    const mod = moduleOf(h.module)
    if (!mod) continue
    const methods = Array.isArray(opts.method) ? opts.method : [opts.method || 'GET']
    const paths = Array.isArray(opts.path) ? opts.path : [opts.path]
    // `returns` (zod or JSON Schema) types the result; nebula's `response` when it is a zod schema.
    const response = opts.returns ?? (isZodSchema(opts.response) ? opts.response : undefined)
    out.push({
      module: mod.name,
      name: String(h.methodName),
      description: opts.description,
      method: String(methods[0]).toUpperCase(),
      path: joinPath(routePrefix, /** @type {string | undefined} */ (mod.options?.routePrefix), paths[0]),
      params: v.params,
      query: v.query,
      body: v.body,
      response,
    })
  }
  return out
}

/**
 * The input type of one route's function, and whether the input may be left out.
 * @param {RouteInfo} r
 */
function inputType(r) {
  const members = []
  let required = false
  const pathNames = [...r.path.matchAll(/:([A-Za-z_$][\w$]*)/g)].map((m) => m[1])
  if (r.params !== undefined) {
    members.push(`params: ${typeOf(r.params)}`)
    required = true
  } else if (pathNames.length > 0) {
    members.push(`params: { ${pathNames.map((n) => `${n}: string | number`).join('; ')} }`)
    required = true
  }
  for (const key of /** @type {const} */ (['query', 'body'])) {
    const s = r[key]
    if (s === undefined) continue
    const omit = mayOmit(s)
    if (!omit) required = true
    members.push(`${key}${omit ? '?' : ''}: ${typeOf(s)}`)
  }
  members.push('headers?: Record<string, string>')
  return { type: `{ ${members.join('; ')} }`, required }
}

module.exports = { collectRoutes, inputType, typeOf }
