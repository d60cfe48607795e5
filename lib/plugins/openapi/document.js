'use strict'

// The OpenAPI 3.1 document of an engine's routes and actions, built once at start from what
// the handlers declare: paths and methods, path/query/header parameters, request bodies,
// responses (the shapes the engine really answers with) and descriptions, and the bearer scheme
// JwtAuthPlugin implies. A pure function of its input (./plugin.js gathers it, schemas already
// JSON Schema), so it is tested without an engine.

const { Components } = require('./components')
const { actionOperations } = require('./actions')
const { BEARER, ERROR_SCHEMA, VALIDATION_ERROR_SCHEMA, ACTION_ERROR_SCHEMA, jsonOf, secure } = require('./shapes')

/**
 * @typedef {{ permissions: string[], roles: string[] }} JwtNeeds what JwtAuthPlugin asks of a handler's token
 *
 * @typedef {object} RouteInfo
 * @property {string[]} methods upper case
 * @property {string} path the full path, `:param` segments and a trailing `*`
 * @property {string} module the module's name (the tag)
 * @property {string} methodName
 * @property {string} [description]
 * @property {import('../../../index').RouteJsonSchemas} schemas routeSchemas(handler): validate's parts and returns
 * @property {JwtNeeds} [jwt] absent: a public route
 *
 * @typedef {object} ActionInfo
 * @property {string} path `{prefix}/{module}/{method}`
 * @property {string} module
 * @property {string} methodName
 * @property {string} [description]
 * @property {{ schema: unknown, required: boolean }[]} args the positional arguments' JSON Schemas; required: undefined is refused
 * @property {unknown} [returns] JSON Schema of the result (of each item, streamed)
 * @property {boolean} stream
 * @property {JwtNeeds} [jwt]
 *
 * @typedef {object} DocumentInput
 * @property {Record<string, unknown>} info OpenAPI `info` (title and version at least)
 * @property {RouteInfo[]} routes
 * @property {ActionInfo[]} actions
 * @property {boolean} jwt JwtAuthPlugin is registered: declare its bearer scheme
 */

/**
 * `/users/:id/*` → `/users/{id}/{wildcard}` and the names of its path parameters.
 * @param {string} path
 */
function templatePath(path) {
  /** @type {string[]} */
  const names = []
  const template = path
    .split('/')
    .map((seg, i, all) => {
      if (seg.startsWith(':') && seg.length > 1) {
        names.push(seg.slice(1))
        return `{${seg.slice(1)}}`
      }
      if (seg === '*' && i === all.length - 1) {
        names.push('wildcard')
        return '{wildcard}'
      }
      return seg
    })
    .join('/')
  return { template: template || '/', names }
}

/**
 * The properties and required names of an object JSON Schema (empty for anything else).
 * @param {unknown} schema
 */
function objectParts(schema) {
  if (schema === null || typeof schema !== 'object') return { properties: {}, required: [] }
  const s = /** @type {Record<string, any>} */ (schema)
  const properties = s.properties && typeof s.properties === 'object' ? s.properties : {}
  const required = Array.isArray(s.required) ? s.required.filter((r) => typeof r === 'string') : []
  return { properties, required }
}

/**
 * `validate.{params,query,headers}` of a route as OpenAPI parameters; every path parameter is
 * listed (a string when `validate.params` does not describe it).
 * @param {Record<string, unknown>} adopted the route's schemas, adopted (their content)
 * @param {string[]} pathNames
 */
function routeParameters(adopted, pathNames) {
  const params = objectParts(adopted.params)
  /** @type {Record<string, unknown>[]} */
  const out = pathNames.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: params.properties[name] ?? { type: 'string' },
    ...(name === 'wildcard' && !params.properties[name] ? { description: 'The rest of the path' } : {}),
  }))
  for (const [part, where] of /** @type {const} */ ([
    ['query', 'query'],
    ['headers', 'header'],
  ])) {
    const { properties, required } = objectParts(adopted[part])
    for (const [name, schema] of Object.entries(properties)) {
      const p = /** @type {Record<string, unknown>} */ ({
        name: where === 'header' ? name.toLowerCase() : name,
        in: where,
        required: required.includes(name),
        schema,
      })
      const description = schema && typeof schema === 'object' ? /** @type {Record<string, unknown>} */ (schema).description : undefined
      if (typeof description === 'string') p.description = description
      out.push(p)
    }
  }
  return out
}

/**
 * A route's responses: 200 (with `returns` when declared, else 204 too), 400 with the
 * validation's answer when its input is validated, and 500.
 * @param {unknown} returns adopted, or undefined
 * @param {boolean} validated
 * @param {{ Error: unknown, ValidationError: unknown }} refs
 */
function routeResponses(returns, validated, refs) {
  /** @type {Record<string, unknown>} */
  const out = {}
  if (returns !== undefined) out['200'] = { description: 'OK', content: jsonOf(returns) }
  else {
    out['200'] = { description: 'OK' }
    out['204'] = { description: 'No content (the handler returned nothing)' }
  }
  if (validated) out['400'] = { description: 'The request does not match its schema: every violation is listed', content: jsonOf(refs.ValidationError) }
  out['500'] = { description: 'The handler failed', content: jsonOf(refs.Error) }
  return out
}

/**
 * @param {Record<string, any>} paths
 * @param {string} template
 * @param {string} method lower case
 * @param {Record<string, unknown>} operation
 * @param {string} where
 */
function addOperation(paths, template, method, operation, where) {
  paths[template] ??= {}
  if (paths[template][method]) throw new TypeError(`OpenApiPlugin: ${where} and another handler both answer ${method.toUpperCase()} ${template}`)
  paths[template][method] = operation
}

/** A unique operationId from `base` (`module.method`, then `module.method_2`, …). */
function uniqueId(/** @type {Set<string>} */ taken, /** @type {string} */ base) {
  let id = base
  for (let n = 2; taken.has(id); n++) id = `${base}_${n}`
  taken.add(id)
  return id
}

const PARTS = /** @type {const} */ (['body', 'query', 'params', 'headers'])

/**
 * The OpenAPI 3.1 document.
 * @param {DocumentInput} input
 */
function buildDocument({ info, routes, actions, jwt }) {
  /** @type {Record<string, any>} */
  const paths = {}
  const ids = new Set()
  const components = new Components()
  const refs = {
    Error: components.define('Error', ERROR_SCHEMA),
    ValidationError: components.define('ValidationError', VALIDATION_ERROR_SCHEMA),
    ActionError: components.define('ActionError', ACTION_ERROR_SCHEMA),
  }
  for (const route of routes) {
    const { template, names } = templatePath(route.path)
    const where = `@Route ${route.module}.${route.methodName}`
    const base = `${route.module}.${route.methodName}`
    /** @type {Record<string, unknown>} */
    const content = {}
    /** @type {Record<string, unknown>} */
    const use = {}
    for (const part of [...PARTS, /** @type {const} */ ('returns')]) {
      if (route.schemas[part] === undefined) continue
      const adopted = components.adopt(route.schemas[part], `${base}.${part}`)
      content[part] = adopted.content
      use[part] = adopted.use
    }
    const parameters = routeParameters(content, names)
    const validated = PARTS.some((k) => route.schemas[k] !== undefined)
    for (const method of route.methods) {
      const lower = method.toLowerCase()
      /** @type {Record<string, unknown>} */
      const op = { operationId: uniqueId(ids, base), tags: [route.module] }
      if (route.description !== undefined) {
        op.summary = route.description
        op.description = route.description
      }
      if (parameters.length > 0) op.parameters = parameters
      if (use.body !== undefined && !['get', 'head', 'delete', 'options'].includes(lower)) {
        op.requestBody = { required: true, content: jsonOf(use.body) }
      }
      op.responses = routeResponses(use.returns, validated, refs)
      if (jwt) secure(op, route.jwt, refs.Error)
      addOperation(paths, template, lower, op, where)
    }
  }
  for (const action of actions) {
    const where = `@Action ${action.module}.${action.methodName}`
    const { template } = templatePath(action.path)
    const ops = actionOperations(action, components, refs)
    for (const [method, op] of /** @type {const} */ ([
      ['post', ops.post],
      ['get', ops.get],
    ])) {
      op.operationId = uniqueId(ids, method === 'post' ? `${action.module}.${action.methodName}` : `${action.module}.${action.methodName}.get`)
      if (jwt) secure(op, action.jwt, refs.Error)
      addOperation(paths, template, method, op, where)
    }
  }
  /** @type {Record<string, any>} */
  const out = { schemas: components.schemas }
  if (jwt) out.securitySchemes = { [BEARER]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
  return { openapi: '3.1.0', info, paths, components: out }
}

module.exports = { buildDocument, templatePath }
