'use strict'

const { PluginPriority } = require('./priority')
const { composeMiddlewares } = require('./compose')
const { logError } = require('./fault')
const { routeSchemas } = require('./schema')

function joinPath(...parts) {
  let out = ''
  for (const part of parts) {
    if (!part) continue
    const p = String(part)
    out += (p.startsWith('/') ? '' : '/') + p.replace(/\/+$/, '')
  }
  return out.replace(/\/{2,}/g, '/') || '/'
}

/** `Class.method` of a handler, for logs. @param {{ module: Function, methodName: string | symbol }} h */
function describe(h) {
  return `${h.module?.name || '(anonymous class)'}.${String(h.methodName)}`
}

function checkMiddlewares(list, what) {
  if (list === undefined) return true
  if (!Array.isArray(list) || list.some((m) => typeof m !== 'function')) return `${what} must be an array of functions`
  return true
}

/**
 * Serves `@Route` handlers over HTTP. Full path = plugin prefix + module
 * `routePrefix` + route path; middlewares run global → module → route.
 */
class RoutePlugin {
  /** @param {import('../index').RoutePluginOptions} [options] */
  constructor(options = {}) {
    this.name = /** @type {const} */ ('route-plugin')
    this.priority = PluginPriority.ROUTE
    this.options = options
    const bad = checkMiddlewares(options.globalMiddlewares, 'RoutePlugin globalMiddlewares')
    if (bad !== true) throw new TypeError(bad)
    if (options.errorTransformer !== undefined && typeof options.errorTransformer !== 'function') {
      throw new TypeError('RoutePlugin errorTransformer must be a function (ctx, err, handler) => response')
    }
    this._engine = undefined
    this._modules = new Map()
  }

  getModuleOptionsSchema() {
    return {
      _type: {},
      // nebula-engine's checks and messages; the functions check is ours (a non-function fails
      // at the first request otherwise).
      validate(opts) {
        if (opts.routePrefix !== undefined && typeof opts.routePrefix !== 'string') return 'routePrefix must be a string'
        if (opts.routePrefix && !opts.routePrefix.startsWith('/')) return "routePrefix must start with '/'"
        if (opts.routeMiddlewares !== undefined && !Array.isArray(opts.routeMiddlewares)) return 'routeMiddlewares must be an array'
        return checkMiddlewares(opts.routeMiddlewares, 'routeMiddlewares')
      },
    }
  }

  onInit(engine) {
    this._engine = engine
  }

  onModuleLoad(modules) {
    for (const m of modules) this._modules.set(m.clazz, m)
  }

  onHandlerLoad(handlers) {
    const engine = this._engine
    const global = this.options.globalMiddlewares || []
    const transform = this.options.errorTransformer
    for (const h of handlers) {
      if (h.type !== 'route') continue
      const mod = this._modules.get(h.module)
      const modOpts = mod?.options || {}
      const opts = h.options
      const methods = (Array.isArray(opts.method) ? opts.method : [opts.method || 'GET']).map((m) => m.toUpperCase())
      const paths = Array.isArray(opts.path) ? opts.path : [opts.path]
      const middlewares = [...global, ...(modOpts.routeMiddlewares || []), ...(opts.middlewares || [])]
      // Checked in Rust before the chain runs (`returns` only describes the result).
      const { returns: _, ...validate } = routeSchemas(h)
      // The chain minus its native prefix, which runs in Rust before the request gets here.
      const call = engine.routeInvoker(h)
      const chain = composeMiddlewares(middlewares, call)
      const handle = transform
        ? (ctx) => {
            const onError = async (err) => {
              let answer
              try {
                answer = await transform(ctx, err, h)
              } catch (failed) {
                // A transformer that fails answers with the default reply for the handler's own
                // error (as nebula-engine does); its failure is logged, not sent.
                logError(`[nebula] RoutePlugin errorTransformer failed for ${describe(h)}:`, failed)
                throw err
              }
              // Nothing from the transformer: the default error reply, not a silent 204.
              if (answer === undefined) throw err
              return answer
            }
            try {
              const out = chain(ctx)
              return out !== null && typeof out === 'object' && typeof out.then === 'function' ? out.then(undefined, onError) : out
            } catch (err) {
              return onError(err)
            }
          }
        : chain
      for (const p of paths) {
        engine.addRoute({ methods, path: joinPath(this.options.prefix, modOpts.routePrefix, p), handle, handler: h, validate })
      }
    }
  }
}

module.exports = { RoutePlugin, joinPath }
