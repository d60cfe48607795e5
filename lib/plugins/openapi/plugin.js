'use strict'

// OpenApiPlugin: serves the OpenAPI 3.1 document of the engine's routes and actions
// (./document.js) at `path`, and with `ui` a Swagger UI page whose two files (bundle and
// stylesheet) come from the swagger-ui-dist package (./ui.js).

const path = require('node:path')
const { PluginPriority } = require('../../priority')
const { HttpResponse } = require('../../context')
const { joinPath } = require('../../route-plugin')
const { routeSchemas, toJsonSchema } = require('../../schema')
const { buildActionPath } = require('../action/params')
const { buildDocument } = require('./document')
const { swaggerUiPage, swaggerUiAssets } = require('./ui')

const who = 'OpenApiPlugin'

/** @param {string} message @returns {never} */
function fail(message) {
  throw new TypeError(`${who}: ${message}`)
}

/** @param {unknown} p @param {string} name */
function checkPath(p, name) {
  if (typeof p !== 'string' || !p.startsWith('/') || /[?#\s]/.test(p) || p.includes(':') || p.includes('*')) {
    fail(`${name} must be a path starting with '/' (no parameters, query or spaces), got ${JSON.stringify(p)}`)
  }
  return p.length > 1 ? p.replace(/\/+$/, '') : p
}

/**
 * The folder of swagger-ui-dist, looked up from the application (the current directory)
 * first, then from this package.
 * @returns {string}
 */
function swaggerUiDist() {
  for (const from of [path.join(process.cwd(), 'noop.js'), __filename]) {
    try {
      return path.dirname(require.resolve('swagger-ui-dist/package.json', { paths: [path.dirname(from)] }))
    } catch {
      // next
    }
  }
  return fail('ui needs the swagger-ui-dist package: npm install swagger-ui-dist')
}

/**
 * @param {unknown} ui
 * @returns {{ path: string } | undefined}
 */
function checkUi(ui) {
  if (ui === undefined || ui === false) return undefined
  if (ui === true) return { path: '/docs' }
  if (ui === null || typeof ui !== 'object' || Array.isArray(ui)) fail('ui must be true or { path? }')
  for (const k of Object.keys(ui)) if (k !== 'path') fail(`unknown ui option ${JSON.stringify(k)}`)
  return { path: checkPath(/** @type {{ path?: unknown }} */ (ui).path ?? '/docs', 'ui.path') }
}

/** @param {unknown} v */
const names = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [])

/**
 * What JwtAuthPlugin asks of a handler's token (lib/plugins/jwt-auth.js): nothing when it is
 * `public`, else its own permissions (all needed) and roles (any one), or its module's
 * `jwtPermissions` / `jwtRoles`. The same for routes and actions.
 * @param {Record<string, any>} options the handler's options
 * @param {import('../../../index').ModuleMetadata | undefined} mod
 * @returns {import('./document').JwtNeeds | undefined}
 */
function jwtNeeds(options, mod) {
  if (options.public === true) return undefined
  const modOpts = /** @type {Record<string, any>} */ (mod?.options ?? {})
  return { permissions: names(options.permissions ?? modOpts.jwtPermissions), roles: names(options.roles ?? modOpts.jwtRoles) }
}

/**
 * True when the argument may be left out (zod accepts undefined: optional, a default).
 * @param {unknown} schema
 */
function mayBeOmitted(schema) {
  try {
    const parsed = /** @type {{ safeParse(v: unknown): { success: boolean } }} */ (schema).safeParse(undefined)
    return parsed.success === true
  } catch {
    return false
  }
}

/**
 * An action as the document reads it: its schemas as JSON Schema.
 * @param {import('../../../index').HandlerMetadata} h
 * @param {string} path
 * @param {string} moduleName
 * @param {import('../../../index').ModuleMetadata | undefined} mod
 * @returns {import('./document').ActionInfo}
 */
function actionInfo(h, path, moduleName, mod) {
  const options = /** @type {Record<string, any>} */ (h.options ?? {})
  const methodName = String(h.methodName)
  const where = `@Action ${moduleName}.${methodName}`
  const params = Array.isArray(options.params) ? options.params : []
  return {
    path,
    module: moduleName,
    methodName,
    description: typeof options.description === 'string' ? options.description : undefined,
    args: params.map((schema, i) => ({ schema: toJsonSchema(schema, `${where} params[${i}]`, 'input'), required: !mayBeOmitted(schema) })),
    returns: options.returns === undefined ? undefined : toJsonSchema(options.returns, `${where} returns`, 'output'),
    stream: options.stream === true,
    jwt: jwtNeeds(options, mod),
  }
}

class OpenApiPlugin {
  /** @param {import('../../../index').OpenApiPluginOptions} [options] */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) fail('options must be an object { path?, info?, ui? }')
    for (const k of Object.keys(options)) if (!['path', 'info', 'ui'].includes(k)) fail(`unknown option ${JSON.stringify(k)}`)
    const docPath = checkPath(options.path ?? '/openapi.json', 'path')
    if (options.info !== undefined && (options.info === null || typeof options.info !== 'object' || Array.isArray(options.info))) {
      fail('info must be an OpenAPI info object ({ title?, version?, description?, … })')
    }
    const ui = checkUi(options.ui)
    if (ui && (ui.path === docPath || ui.path === '/')) fail(`ui.path must differ from path and from '/' (got ${JSON.stringify(ui.path)})`)
    this.name = /** @type {const} */ ('openapi-plugin')
    // With the route plugins: the routes are known, and its own endpoints need no chain.
    this.priority = PluginPriority.ROUTE
    this.options = Object.freeze({ path: docPath, info: options.info, ui })
    /** @type {import('../../../index').Microservice | undefined} */
    this._engine = undefined
    /** @type {Map<Function, import('../../../index').ModuleMetadata>} */
    this._modules = new Map()
    /** @type {Record<string, unknown> | undefined} */
    this._document = undefined
  }

  /** @param {import('../../../index').Microservice} engine */
  onInit(engine) {
    this._engine = engine
  }

  /** @param {import('../../../index').ModuleMetadata[]} modules */
  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m]))
  }

  /** The document served (built at start); undefined before. */
  getDocument() {
    return this._document
  }

  /** @param {import('../../../index').HandlerMetadata[]} handlers */
  onHandlerLoad(handlers) {
    const engine = this._engine
    if (!engine) fail('onHandlerLoad before onInit')
    const plugins = engine.getPlugins()
    const routePlugin = /** @type {{ options?: { prefix?: string } } | undefined} */ (plugins.find((p) => p.name === 'route-plugin'))
    const actionPlugin = plugins.some((p) => p.name === 'action-plugin')
    const jwt = plugins.some((p) => p.name === 'jwt-auth')
    /** @type {import('./document').RouteInfo[]} */
    const routes = []
    /** @type {import('./document').ActionInfo[]} */
    const actions = []
    for (const h of handlers) {
      const mod = this._modules.get(h.module)
      const moduleName = mod ? mod.name : h.module.name
      const options = /** @type {Record<string, any>} */ (h.options ?? {})
      const methodName = String(h.methodName)
      if (h.type === 'route' && routePlugin) {
        const methods = (Array.isArray(options.method) ? options.method : [options.method || 'GET']).map((m) => String(m).toUpperCase())
        const paths = Array.isArray(options.path) ? options.path : [options.path]
        const schemas = routeSchemas(h)
        const description = typeof options.description === 'string' ? options.description : undefined
        for (const p of paths) {
          const full = joinPath(routePlugin.options?.prefix, /** @type {any} */ (mod?.options)?.routePrefix, p)
          routes.push({ methods, path: full, module: moduleName, methodName, description, schemas, jwt: jwtNeeds(options, mod) })
        }
      } else if (h.type === 'action' && actionPlugin && mod) {
        // ActionPlugin serves the actions of loaded modules, at the path it builds.
        actions.push(actionInfo(h, buildActionPath(engine.options.prefix ?? '', mod.name, methodName), moduleName, mod))
      }
    }
    const info = { title: engine.options.name, version: engine.options.version, ...this.options.info }
    const document = buildDocument({ info, routes, actions, jwt })
    this._document = document
    const text = JSON.stringify(document)
    engine.addRoute({
      methods: ['GET'],
      path: this.options.path,
      handle: () => new HttpResponse(text, 200, { 'content-type': 'application/json; charset=utf-8' }),
    })
    const ui = this.options.ui
    if (ui) {
      const assets = `${ui.path}/assets`
      const page = swaggerUiPage({ title: String(info.title ?? 'API'), documentUrl: this.options.path, assets })
      engine.addRoute({ methods: ['GET'], path: ui.path, handle: () => new HttpResponse(page, 200, { 'content-type': 'text/html; charset=utf-8' }) })
      // Only the files the page loads: swagger-ui-dist's demo page (index.html, swagger-initializer.js) is not served.
      for (const route of swaggerUiAssets(swaggerUiDist(), assets)) engine.addRoute(route)
    }
  }
}

module.exports = { OpenApiPlugin }
