'use strict'

// ActionPlugin: nebula-engine's RPC over HTTP. Each `@Action` method is
// served on GET and POST `{engine prefix}/{module}/{method}`. Arguments are
// positional: `{"0": a, "1": b}` as an EJSON body (POST) or `?0=a&1=b` (GET),
// coerced and checked by the action's zod `params`; the answer is EJSON
// `{"success": true, "data": …}`, or `{"success": false, "error": …}` with 400
// (bad arguments, a result `returns` refuses) or 500 (the method threw).
// `stream: true` streams what the method's async generator yields.
//
// Routes are added in onBeforeStart, once the chains are applied: the
// native prefix of each method's chain (rate limit, JWT…) runs in Rust before
// the request reaches JavaScript, as for @Route handlers.

const ejson = require('ejson')
const { PluginPriority } = require('../../priority')
const { HttpResponse } = require('../../context')
const { composeMiddlewares } = require('../../compose')
const { internalsOf } = require('../../engine-internals')
const { messageOf, statusOf } = require('../../fault')
const { parseArgs, checkResult, buildActionPath } = require('./params')
const { streamAnswer } = require('./stream')

/** @typedef {import('../../../index').HandlerMetadata<import('../../../index').ActionOptions>} ActionHandler */
/** @typedef {import('../../../index').ModuleMetadata} ModuleMetadata */
/** @typedef {import('../../context').Context} Context */

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' })

/**
 * An EJSON answer; a value EJSON cannot write (a cycle) becomes a 500 saying so.
 * @param {number} status
 * @param {unknown} body
 */
function reply(status, body) {
  let text
  try {
    text = ejson.stringify(/** @type {any} */ (body))
  } catch (err) {
    return new HttpResponse(ejson.stringify({ success: false, error: `the result cannot be sent as EJSON: ${messageOf(err)}` }), 500, JSON_HEADERS)
  }
  return new HttpResponse(text, status, JSON_HEADERS)
}

/** @param {string} error */
const failure = (status, error) => reply(status, { success: false, error })

/** @param {unknown} v */
const isAsyncIterable = (v) => v !== null && v !== undefined && typeof (/** @type {any} */ (v)[Symbol.asyncIterator]) === 'function'

/**
 * The call's arguments as received: the query (GET, the last of repeated keys, as nebula reads them) or the EJSON body.
 * @param {Context} ctx
 * @returns {Promise<{ ok: true, body: unknown } | { ok: false, error: string }>}
 */
async function readArgs(ctx) {
  if (ctx.req.method === 'GET') {
    /** @type {Record<string, string>} */
    const body = Object.create(null)
    for (const [k, list] of Object.entries(ctx.req.queries())) body[k] = list[list.length - 1]
    return { ok: true, body }
  }
  const raw = await ctx.req.text()
  if (raw.trim() === '') return { ok: true, body: {} }
  try {
    return { ok: true, body: ejson.parse(raw) }
  } catch (err) {
    return { ok: false, error: `Malformed EJSON body: ${messageOf(err)}` }
  }
}

class ActionPlugin {
  constructor() {
    this.name = /** @type {const} */ ('action-plugin')
    this.priority = PluginPriority.ROUTE - 10
    /** @type {import('../../microservice').Microservice | undefined} */
    this._engine = undefined
    /** @type {Map<Function, ModuleMetadata>} */
    this._modules = new Map()
    /** @type {ActionHandler[]} */
    this._actions = []
  }

  getModuleOptionsSchema() {
    return {
      _type: /** @type {import('../../../index').ActionModuleOptions} */ ({}),
      /** @param {import('../../../index').ActionModuleOptions} options */
      validate(options) {
        const mws = options.actionMiddlewares
        if (mws === undefined) return true
        if (!Array.isArray(mws)) return 'actionMiddlewares must be an array'
        if (mws.some((m) => typeof m !== 'function')) return 'actionMiddlewares must be an array of functions (ctx, next) => …'
        return true
      },
    }
  }

  /** @param {import('../../microservice').Microservice} engine */
  onInit(engine) {
    this._engine = engine
  }

  /** @param {ModuleMetadata[]} modules */
  onModuleLoad(modules) {
    for (const m of modules) this._modules.set(m.clazz, m)
  }

  /** @param {import('../../../index').HandlerMetadata[]} handlers */
  onHandlerLoad(handlers) {
    this._actions = /** @type {ActionHandler[]} */ (handlers.filter((h) => h.type === 'action'))
  }

  /** @param {import('../../microservice').Microservice} engine */
  onBeforeStart(engine) {
    const internals = internalsOf(engine)
    for (const h of this._actions) {
      const mod = this._modules.get(h.module)
      if (!mod) continue
      const path = buildActionPath(engine.options.prefix, mod.name, String(h.methodName))
      const modOpts = /** @type {import('../../../index').ActionModuleOptions} */ (mod.options || {})
      const middlewares = [...(modOpts.actionMiddlewares || []), ...(h.options.middlewares || [])]
      const handle = composeMiddlewares(middlewares, this._handle(h, mod, internals))
      engine.addRoute({ methods: ['GET', 'POST'], path, handle, handler: h })
    }
  }

  /**
   * The answer of one action to one request.
   * @param {ActionHandler} h
   * @param {ModuleMetadata} mod
   * @param {import('../../engine-internals').EngineInternals} internals
   * @returns {(ctx: Context) => Promise<unknown>}
   */
  _handle(h, mod, internals) {
    const options = h.options
    const schemas = /** @type {any[]} */ (options.params || [])
    const returns = /** @type {any} */ (options.returns)
    const chain = internals.chainOf(h)
    const instance = /** @type {object} */ (internals.instances.get(h.module))
    if (!chain?.httpRun || !instance) throw new Error(`action ${mod.name}.${String(h.methodName)}: its chain was not applied`)
    const run = chain.httpRun
    // nebula's rule: a method declaring more parameters than `params` gets the context first.
    const withContext = h.method.length > schemas.length
    const who = `${mod.name}.${String(h.methodName)}`
    /** @param {Context} ctx */
    const answer = async (ctx) => {
      const read = await readArgs(ctx)
      if (!read.ok) return failure(400, read.error)
      const parsed = parseArgs(read.body, schemas)
      if (!parsed.ok) return failure(400, parsed.error)
      const controller = new AbortController()
      // The action's AbortSignal: aborted when the client of a streamed action goes away.
      Object.defineProperty(ctx, 'signal', { value: controller.signal, configurable: true, enumerable: false })
      const args = withContext ? [ctx, ...parsed.args] : parsed.args
      let result
      try {
        result = await run(instance, args)
      } catch (err) {
        return failure(statusOf(err), messageOf(err))
      }
      if (options.stream) {
        if (!isAsyncIterable(result)) return failure(500, 'Stream action must return AsyncIterable')
        const streamed = streamAnswer(/** @type {AsyncIterable<unknown>} */ (result), controller, who)
        return streamed.answer ?? failure(500, streamed.failed)
      }
      if (returns) {
        const checked = checkResult(result, returns)
        if (!checked.ok) return failure(400, checked.error)
        return reply(200, { success: true, data: checked.data })
      }
      return reply(200, { success: true, data: result })
    }
    // Whatever fails on the way (a schema that throws, an async refinement zod refuses to run
    // synchronously) answers in nebula's shape, as its catch-all does.
    return (ctx) => answer(ctx).catch((err) => failure(500, messageOf(err)))
  }
}

module.exports = { ActionPlugin }
