import Fastify from 'fastify'
import { HELLO, ORDER_SCHEMA, PORT, RATE_MAX, RATE_WINDOW_MS, SCENARIO, SECRET, orderAnswer, ready } from './common.mjs'

const app = Fastify({ logger: false })
if (SCENARIO === 'stack' || SCENARIO === 'rejected') {
  await app.register((await import('@fastify/rate-limit')).default, { max: RATE_MAX, timeWindow: RATE_WINDOW_MS })
  await app.register((await import('@fastify/jwt')).default, { secret: SECRET })
  app.addHook('onRequest', async (req) => {
    await req.jwtVerify()
  })
  // The same two TS wrappers as nebula's: timing, and a transform of the result.
  let calls = 0
  let totalMs = 0
  app.addHook('onRequest', async (req) => {
    req.t0 = performance.now()
  })
  app.addHook('onResponse', async (req) => {
    calls++
    totalMs += performance.now() - req.t0
  })
  app.addHook('preSerialization', async (_req, _reply, payload) =>
    payload && typeof payload === 'object' ? { ...payload, served: true } : payload,
  )
}
if (SCENARIO === 'cached') {
  const cache = new Map()
  app.addHook('onRequest', async (req, reply) => {
    const hit = cache.get(req.url)
    if (hit && hit.expires > Date.now()) {
      reply.header('content-type', 'application/json; charset=utf-8')
      return reply.send(hit.body)
    }
  })
  app.addHook('onSend', async (req, reply, payload) => {
    if (!cache.has(req.url) && reply.statusCode === 200) cache.set(req.url, { body: payload, expires: Date.now() + 600_000 })
    return payload
  })
}
app.get('/', async () => HELLO)
// validate / invalid: Fastify's own body validation (Ajv, compiled at start) with the same JSON Schema.
app.post('/orders', { schema: { body: ORDER_SCHEMA } }, async (req) => orderAnswer(req.body))
await app.listen({ port: PORT, host: '127.0.0.1' })
ready(app.server.address().port)
