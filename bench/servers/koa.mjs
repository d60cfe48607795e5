import Koa from 'koa'
import Router from '@koa/router'
import jwt from 'jsonwebtoken'
import { HELLO, PORT, RATE_MAX, RATE_WINDOW_MS, SCENARIO, SECRET, ready } from './common.mjs'

const app = new Koa()
if (SCENARIO === 'stack' || SCENARIO === 'rejected') {
  // In-memory fixed-window rate limit by IP (koa-ratelimit needs a database).
  const hits = new Map()
  app.use(async (ctx, next) => {
    const now = Date.now()
    let e = hits.get(ctx.ip)
    if (!e || e.reset <= now) hits.set(ctx.ip, (e = { n: 0, reset: now + RATE_WINDOW_MS }))
    if (++e.n > RATE_MAX) {
      ctx.status = 429
      ctx.body = { error: 'Too Many Requests' }
      return
    }
    await next()
  })
  app.use(async (ctx, next) => {
    const h = ctx.get('authorization')
    try {
      ctx.state.user = jwt.verify(h.startsWith('Bearer ') ? h.slice(7) : '', SECRET, { algorithms: ['HS256'] })
    } catch {
      ctx.status = 401
      ctx.body = { error: 'Unauthorized' }
      return
    }
    await next()
  })
  let calls = 0
  let totalMs = 0
  app.use(async (_ctx, next) => {
    const t = performance.now()
    try {
      await next()
    } finally {
      calls++
      totalMs += performance.now() - t
    }
  })
  app.use(async (ctx, next) => {
    await next()
    if (ctx.body && typeof ctx.body === 'object') ctx.body = { ...ctx.body, served: true }
  })
}
const router = new Router()
router.get('/', (ctx) => {
  ctx.body = HELLO
})
app.use(router.routes())
const server = app.listen(PORT, '127.0.0.1', () => ready(server.address().port))
