'use strict'

// OpenApiPlugin: serves the OpenAPI 3.1 document of the engine's routes and actions
// (./document.js) at `path`, and with `ui` a Swagger UI page whose files come from the
// swagger-ui-dist package, served by the engine's static files (Rust).

const path = require('node:path')
const { PluginPriority } = require('../../priority')
const { HttpResponse } = require('../../context')
const { internalsOf } = require('../../engine-internals')
const { joinPath } = require('../../route-plugin')
const { buildDocument } = require('./document')
const { swaggerUiPage } = require('./ui')

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

/**
 * The permissions and roles JwtAuthPlugin asks a route for (its own, else its module's): the
 * role names OpenAPI 3.1 lets a bearer requirement list.
 * @param {Record<string, any>} options
 * @param {import('../../../index').ModuleMetadata | undefined} mod
 * @returns {string[]}
 */
function jwtScopes(options, mod) {
  const modOpts = /** @type {Record<string, any>} */ (mod?.options ?? {})
  const list = (/** @type {unknown} */ v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [])
  return [...list(options.permissions ?? modOpts.jwtPermissions), ...list(options.roles ?? modOpts.jwtRoles)]
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
    const jwt = plugins.some((p) => p.name === 'jwt-auth')
    const routes = []
    const actions = []
    for (const h of handlers) {
      const mod = this._modules.get(h.module)
      const moduleName = mod ? mod.name : h.module.name
      const options = /** @type {Record<string, any>} */ (h.options ?? {})
      const methodName = String(h.methodName)
      if (h.type === 'route' && routePlugin) {
        const methods = (Array.isArray(options.method) ? options.method : [options.method || 'GET']).map((m) => String(m).toUpperCase())
        const paths = Array.isArray(options.path) ? options.path : [options.path]
        for (const p of paths) {
          const full = joinPath(routePlugin.options?.prefix, /** @type {any} */ (mod?.options)?.routePrefix, p)
          routes.push({ methods, path: full, module: moduleName, methodName, options, secured: options.public !== true, scopes: jwtScopes(options, mod) })
        }
      } else if (h.type === 'action') {
        const full = joinPath(engine.options.prefix, moduleName, methodName)
        actions.push({ path: full, module: moduleName, methodName, options, secured: options.public !== true })
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
      internalsOf(/** @type {any} */ (engine)).staticMounts.push({ prefix: assets, path: swaggerUiDist(), cache: true })
    }
  }
}

module.exports = { OpenApiPlugin }
