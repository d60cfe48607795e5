'use strict'

// ClientCodePlugin: serves the generated TypeScript client of every action at
// GET `{prefix}/client.ts` and, with `clientSavePath`, writes it there when
// the engine starts (the folders are created). Generated once, on first use.

const { promises: fs } = require('node:fs')
const path = require('node:path')
const { PluginPriority } = require('../../priority')
const { HttpResponse } = require('../../context')
const { logError } = require('../../fault')
const { generateClientCode } = require('./generator')
const { parameterNames } = require('./param-names')
const { collectRoutes } = require('./routes')

/** @typedef {import('../../../index').HandlerMetadata<import('../../../index').ActionOptions>} ActionHandler */
/** @typedef {import('./generator').ModuleInfo} ModuleInfo */

/**
 * The modules' actions as the generator reads them.
 * @param {ActionHandler[]} handlers
 * @param {(clazz: new (...args: any[]) => any) => string | undefined} moduleName
 * @returns {Record<string, ModuleInfo>}
 */
function moduleInfos(handlers, moduleName) {
  /** @type {Record<string, ModuleInfo>} */
  const modules = Object.create(null)
  for (const h of handlers) {
    if (h.type !== 'action') continue
    const name = moduleName(h.module)
    if (name === undefined) continue
    const options = h.options
    const params = options.params || []
    let names = parameterNames(h.method)
    // A method taking the context first (more parameters than `params`): its names start after it.
    if (h.method.length > params.length) names = names.slice(h.method.length - params.length)
    modules[name] ??= { name, actions: {} }
    modules[name].actions[String(h.methodName)] = {
      description: options.description,
      params,
      returns: options.returns,
      stream: options.stream || false,
      idempotence: options.idempotence || false,
      paramNames: names,
    }
  }
  return modules
}

class ClientCodePlugin {
  /** @param {import('../../../index').ClientCodePluginOptions} [options] */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('ClientCodePlugin: options must be an object { clientSavePath? }')
    if (options.clientSavePath !== undefined && (typeof options.clientSavePath !== 'string' || options.clientSavePath === '')) {
      throw new TypeError('ClientCodePlugin: clientSavePath must be a non-empty path')
    }
    this.name = /** @type {const} */ ('client-code-plugin')
    this.priority = PluginPriority.ROUTE
    this.clientSavePath = options.clientSavePath
    /** @type {import('../../microservice').Microservice | undefined} */
    this._engine = undefined
    /** @type {ActionHandler[]} */
    this._actions = []
    /** @type {import('../../../index').HandlerMetadata[]} the @Route handlers (those with schemas get a function) */
    this._routes = []
    /** @type {string | null} */
    this._code = null
  }

  /** @param {import('../../microservice').Microservice} engine */
  onInit(engine) {
    this._engine = engine
  }

  /** @param {import('../../../index').HandlerMetadata[]} handlers */
  onHandlerLoad(handlers) {
    this._actions = /** @type {ActionHandler[]} */ (handlers.filter((h) => h.type === 'action'))
    this._routes = handlers.filter((h) => h.type === 'route')
    const engine = /** @type {import('../../microservice').Microservice} */ (this._engine)
    const prefix = engine.options.prefix || ''
    const route = `${prefix.replace(/\/+$/, '')}/client.ts`.replace(/\/{2,}/g, '/')
    engine.addRoute({
      methods: ['GET'],
      path: route.startsWith('/') ? route : `/${route}`,
      handle: () =>
        new HttpResponse(this.getCode(), 200, {
          'content-type': 'text/typescript; charset=utf-8',
          'content-disposition': 'attachment; filename="client.ts"',
        }),
    })
  }

  /** Writes the client to `clientSavePath` (a failure is logged: the service starts all the same). */
  async onAfterStart() {
    const code = this.getCode()
    const file = this.clientSavePath
    if (!file) return
    try {
      await fs.mkdir(path.dirname(file), { recursive: true })
      await fs.writeFile(file, code, 'utf8')
    } catch (err) {
      logError(`[nebula] ClientCodePlugin could not write ${file}:`, err)
    }
  }

  /** The generated client (generated on first use). */
  getCode() {
    if (this._code === null) {
      const engine = /** @type {import('../../microservice').Microservice} */ (this._engine)
      const modules = new Map(engine.getModules().map((m) => [m.clazz, m]))
      const routePlugin = /** @type {{ options?: { prefix?: string } } | undefined} */ (engine.getPlugins().find((p) => p.name === 'route-plugin'))
      try {
        const actions = moduleInfos(this._actions, (c) => modules.get(c)?.name)
        const routes = routePlugin ? collectRoutes(this._routes, (c) => modules.get(c), routePlugin.options?.prefix) : []
        this._code = generateClientCode(actions, { prefix: engine.options.prefix || '', routes })
      } catch (err) {
        logError('[nebula] ClientCodePlugin could not generate the client:', err)
        this._code = `// Error: Failed to generate client code: ${String(err instanceof Error ? err.message : err).replace(/\n/g, ' ')}\n`
      }
    }
    return this._code
  }
}

/**
 * nebula's convertHandlersToModuleInfoWithMetadata: the actions among `handlers`, by the module name `getModuleMetadata` gives.
 * @param {import('../../../index').HandlerMetadata[]} handlers
 * @param {(moduleClass: any) => { name: string } | undefined} getModuleMetadata
 */
function convertHandlersToModuleInfoWithMetadata(handlers, getModuleMetadata) {
  return moduleInfos(/** @type {ActionHandler[]} */ (handlers), (c) => getModuleMetadata(c)?.name)
}

/**
 * nebula's convertHandlersToModuleInfo: as above, each module named after its class ("UserService" → "user").
 * @param {import('../../../index').HandlerMetadata[]} handlers
 */
function convertHandlersToModuleInfo(handlers) {
  return moduleInfos(/** @type {ActionHandler[]} */ (handlers), (c) => c.name.toLowerCase().replace(/service$/, ''))
}

module.exports = { ClientCodePlugin, moduleInfos, convertHandlersToModuleInfo, convertHandlersToModuleInfoWithMetadata }
