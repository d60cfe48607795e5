// nebula-native: TS-style handlers on the Rust core; native plugins for the stack.
import nebula from '../../index.js'
const { Factory, PluginPriority, Route, RoutePlugin } = nebula
import { HELLO, ORDER_SCHEMA, PORT, RATE_MAX, RATE_WINDOW_MS, SCENARIO, SECRET, STATIC_DIR, orderAnswer, ready } from './common.mjs'

// The docs' TS wrappers: a log plugin that times each call, and a transform plugin.
let calls = 0
let totalMs = 0
const logPlugin = {
  name: 'log',
  priority: PluginPriority.LOGGING,
  onHandlerLoad(handlers) {
    for (const h of handlers)
      h.wrap(async (next) => {
        const t = performance.now()
        try {
          return await next()
        } finally {
          calls++
          totalMs += performance.now() - t
        }
      })
  },
}
const transformPlugin = {
  name: 'transform',
  priority: PluginPriority.BUSINESS,
  onHandlerLoad(handlers) {
    for (const h of handlers)
      h.wrap(async (next) => {
        const out = await next()
        return out && typeof out === 'object' ? { ...out, served: true } : out
      })
  },
}

const plugins = [new RoutePlugin()]
if (SCENARIO === 'stack' || SCENARIO === 'rejected') {
  plugins.push(
    new nebula.RateLimitPlugin({ maxRequests: RATE_MAX, windowMs: RATE_WINDOW_MS }),
    new nebula.JwtAuthPlugin({ algorithm: 'HS256', secret: SECRET }),
    logPlugin,
    transformPlugin,
  )
}
if (SCENARIO === 'cached') plugins.push(new nebula.CachePlugin())
// limited: one request per window per client address, so nearly every answer is the 429 (from Rust).
if (SCENARIO === 'limited') plugins.push(new nebula.RateLimitPlugin({ maxRequests: 1, windowMs: RATE_WINDOW_MS }))

const { Module, Microservice } = Factory.create(...plugins)

class Bench {
  hello() {
    return HELLO
  }
}
Module('bench')(Bench)
const desc = Object.getOwnPropertyDescriptor(Bench.prototype, 'hello')
Route({ path: '/' })(Bench.prototype, 'hello', desc)
if (SCENARIO === 'cached') nebula.Cache({ ttl: 600_000 })(Bench.prototype, 'hello', desc)
// validate / invalid: the body checked in Rust against the JSON Schema before the handler runs.
Bench.prototype.order = (ctx) => orderAnswer(ctx.req.valid('json'))
Route({ method: 'POST', path: '/orders', validate: { body: ORDER_SCHEMA } })(
  Bench.prototype,
  'order',
  Object.getOwnPropertyDescriptor(Bench.prototype, 'order'),
)

// static: GET /static/hello.json, a small file (the hello body) served by the engine's Rust static files.
const staticFiles = SCENARIO === 'static' ? { static: { prefix: '/static', path: STATIC_DIR } } : {}
const engine = new Microservice({ name: 'bench', version: '1.0.0', hostname: '127.0.0.1', ...staticFiles })
ready(await engine.start(PORT))
