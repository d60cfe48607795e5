'use strict'

// The OpenAPI 3.1 document of an engine's routes and actions, built once at start from what
// the handlers declare: paths and methods, path/query/header parameters, request bodies,
// responses and descriptions, and the bearer scheme JwtAuthPlugin implies. A pure function of
// its input (./plugin.js gathers it), so it is tested without an engine.

const { toJsonSchema } = require('../../schema')

/**
 * @typedef {object} RouteInfo
 * @property {string[]} methods upper case
 * @property {string} path the full path, `:param` segments and a trailing `*`
 * @property {string} module the module's name (the tag)
 * @property {string} methodName
 * @property {Record<string, any>} options the `@Route` options
 * @property {boolean} secured JwtAuthPlugin asks this route for a bearer token
 * @property {string[]} [scopes] the permissions and roles the token needs
 *
 * @typedef {object} ActionInfo
 * @property {string} path `{prefix}/{module}/{method}`
 * @property {string} module
 * @property {string} methodName
 * @property {Record<string, any>} options the `@Action` options (`params`: positional schemas, `returns`, `description`)
 * @property {boolean} secured
 *
 * @typedef {object} DocumentInput
 * @property {Record<string, unknown>} info OpenAPI `info` (title and version at least)
 * @property {RouteInfo[]} routes
 * @property {ActionInfo[]} actions
 * @property {boolean} jwt JwtAuthPlugin is registered: declare its bearer scheme
 */

const BEARER = 'bearerAuth'
const ERROR_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
}
const ERROR = { $ref: '#/components/schemas/Error' }
const jsonOf = (/** @type {unknown} */ schema) => ({ 'application/json': { schema } })

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

/** A JSON Schema without the `$schema` keyword (the document's dialect applies). */
function bare(/** @type {Record<string, unknown> | boolean} */ schema) {
  if (typeof schema !== 'object') return schema
  const { $schema: _dialect, ...rest } = schema
  return rest
}

/**
 * `validate.{params,query,headers}` of a route as OpenAPI parameters; every path parameter is
 * listed (a string when `validate.params` does not describe it).
 * @param {RouteInfo} route
 * @param {string[]} pathNames
 * @param {string} where
 */
function routeParameters(route, pathNames, where) {
  const validate = route.options.validate ?? {}
  const schemaOf = (/** @type {string} */ part) =>
    validate[part] === undefined ? undefined : bare(toJsonSchema(validate[part], `${where} validate.${part}`, 'input'))
  const params = objectParts(schemaOf('params'))
  /** @type {Record<string, unknown>[]} */
  const out = pathNames.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: params.properties[name] ?? { type: 'string' },
    ...(name === 'wildcard' && !params.properties[name] ? { description: 'The rest of the path' } : {}),
  }))
  for (const [part, where_] of /** @type {const} */ ([
    ['query', 'query'],
    ['headers', 'header'],
  ])) {
    const { properties, required } = objectParts(schemaOf(part))
    for (const [name, schema] of Object.entries(properties)) {
      const p = /** @type {Record<string, unknown>} */ ({
        name: where_ === 'header' ? name.toLowerCase() : name,
        in: where_,
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
 * The responses of an operation: 200 (with `returns` when declared), 400 when its input is
 * validated, 401/403 when a bearer token is asked for, and 500.
 * @param {unknown} returns
 * @param {boolean} validated
 * @param {boolean} secured
 * @param {string} where
 * @param {boolean} [noContentWhenUndeclared] a route without `returns` may answer 204
 */
function responses(returns, validated, secured, where, noContentWhenUndeclared = false) {
  /** @type {Record<string, unknown>} */
  const out = {}
  if (returns !== undefined) out['200'] = { description: 'OK', content: jsonOf(bare(toJsonSchema(returns, `${where} returns`, 'output'))) }
  else out['200'] = { description: 'OK' }
  if (noContentWhenUndeclared && returns === undefined) out['204'] = { description: 'No content (the handler returned nothing)' }
  if (validated) out['400'] = { description: 'The request does not match its schema', content: jsonOf(ERROR) }
  if (secured) {
    out['401'] = { description: 'No valid bearer token', content: jsonOf(ERROR) }
    out['403'] = { description: 'The token lacks a permission or role the route needs', content: jsonOf(ERROR) }
  }
  out['500'] = { description: 'The handler failed', content: jsonOf(ERROR) }
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

/**
 * The OpenAPI 3.1 document.
 * @param {DocumentInput} input
 */
function buildDocument({ info, routes, actions, jwt }) {
  /** @type {Record<string, any>} */
  const paths = {}
  const ids = new Set()
  for (const route of routes) {
    const { template, names } = templatePath(route.path)
    const where = `@Route ${route.module}.${route.methodName}`
    const parameters = routeParameters(route, names, where)
    const validate = route.options.validate ?? {}
    const returns = route.options.returns
    const validated = ['body', 'query', 'params', 'headers'].some((k) => validate[k] !== undefined)
    const secured = jwt && route.secured
    for (const method of route.methods) {
      const lower = method.toLowerCase()
      /** @type {Record<string, unknown>} */
      const op = { operationId: uniqueId(ids, `${route.module}.${route.methodName}`), tags: [route.module] }
      if (typeof route.options.description === 'string') {
        op.summary = route.options.description
        op.description = route.options.description
      }
      if (parameters.length > 0) op.parameters = parameters
      if (validate.body !== undefined && !['get', 'head', 'delete', 'options'].includes(lower)) {
        op.requestBody = { required: true, content: jsonOf(bare(toJsonSchema(validate.body, `${where} validate.body`, 'input'))) }
      }
      op.responses = responses(returns, validated, secured, where, true)
      if (secured) op.security = [{ [BEARER]: route.scopes ?? [] }]
      addOperation(paths, template, lower, op, where)
    }
  }
  for (const action of actions) {
    const where = `@Action ${action.module}.${action.methodName}`
    const params = Array.isArray(action.options.params) ? action.options.params : []
    /** @type {Record<string, unknown>} */
    const properties = {}
    params.forEach((schema, i) => {
      properties[String(i)] = bare(toJsonSchema(schema, `${where} params[${i}]`, 'input'))
    })
    const body = { type: 'object', description: 'The arguments by position (EJSON): {"0": first, "1": second, …}', properties }
    const data = action.options.returns === undefined ? {} : bare(toJsonSchema(action.options.returns, `${where} returns`, 'output'))
    const success = { type: 'object', properties: { success: { const: true }, data }, required: ['success'] }
    const failure = { type: 'object', properties: { success: { const: false }, error: { type: 'string' } }, required: ['success', 'error'] }
    /** @type {Record<string, unknown>} */
    const op = {
      operationId: uniqueId(ids, `${action.module}.${action.methodName}`),
      tags: [action.module],
      requestBody: { required: params.length > 0, content: { 'application/json': { schema: body }, 'application/ejson': { schema: body } } },
      responses: {
        200: {
          description: action.options.stream ? 'A stream of EJSON {value, done} chunks' : 'OK',
          content: action.options.stream ? { 'text/event-stream': {} } : jsonOf(success),
        },
        400: { description: 'An argument does not match its schema', content: jsonOf(failure) },
        ...(jwt && action.secured
          ? {
              401: { description: 'No valid bearer token', content: jsonOf(ERROR) },
              403: { description: 'The token lacks a permission', content: jsonOf(ERROR) },
            }
          : {}),
        500: { description: 'The action failed', content: jsonOf(failure) },
      },
    }
    if (typeof action.options.description === 'string') {
      op.summary = action.options.description
      op.description = action.options.description
    }
    if (jwt && action.secured) op.security = [{ [BEARER]: [] }]
    addOperation(paths, templatePath(action.path).template, 'post', op, where)
  }
  /** @type {Record<string, any>} */
  const components = { schemas: { Error: ERROR_SCHEMA } }
  if (jwt) components.securitySchemes = { [BEARER]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
  return { openapi: '3.1.0', info, paths, components }
}

module.exports = { buildDocument, templatePath }
