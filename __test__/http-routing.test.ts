import { afterEach, describe, expect, it } from 'vitest'
import { Route, PluginPriority } from '../index.js'
import { setup, listen, stopAll, rawRequest, type Ctx } from './helpers/http'

afterEach(stopAll)

describe('route paths', () => {
  it('composes plugin prefix + module routePrefix + route path', async () => {
    const { Module, engine } = setup({ route: { prefix: '/api' } })
    @Module('users', { routePrefix: '/users' })
    class Users {
      @Route({ path: '/:id' })
      one(ctx: Ctx) {
        return { id: ctx.req.param('id') }
      }
    }
    const res = await engine.request('/api/users/42')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ id: '42' })
    expect((await engine.request('/users/42')).status).toBe(404)
    expect((await engine.request('/api/42')).status).toBe(404)
  })

  it('captures several :params and exposes them all through param()', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/orgs/:org/repos/:repo' })
      r(ctx: Ctx) {
        return { org: ctx.req.param('org'), repo: ctx.req.param('repo'), all: ctx.req.param() }
      }
    }
    const res = await engine.request('/orgs/acme/repos/rocket')
    expect(await res.json()).toEqual({ org: 'acme', repo: 'rocket', all: { org: 'acme', repo: 'rocket' } })
  })

  it('matches the rest of the path with a trailing * wildcard (param "*")', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/files/*' })
      f(ctx: Ctx) {
        return { rest: ctx.req.param('*') }
      }
    }
    expect(await (await engine.request('/files/a/b/c.txt')).json()).toEqual({ rest: 'a/b/c.txt' })
    expect(await (await engine.request('/files/one')).json()).toEqual({ rest: 'one' })
  })

  it('accepts a list of methods and a list of paths for one handler', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ method: ['GET', 'POST'], path: ['/a', '/b'] })
      h(ctx: Ctx) {
        return `${ctx.req.method} ${ctx.req.path}`
      }
    }
    for (const method of ['GET', 'POST']) {
      for (const path of ['/a', '/b']) {
        const res = await engine.request(path, { method })
        expect(res.status).toBe(200)
        expect(await res.text()).toBe(`${method} ${path}`)
      }
    }
    expect((await engine.request('/a', { method: 'PUT' })).status).toBe(405)
  })

  it('prefers a static segment over a :param, whatever the registration order', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/u/:id' })
      byId(ctx: Ctx) {
        return `param ${ctx.req.param('id')}`
      }
      @Route({ path: '/u/me' })
      me() {
        return 'static me'
      }
    }
    expect(await (await engine.request('/u/me')).text()).toBe('static me')
    expect(await (await engine.request('/u/you')).text()).toBe('param you')
  })

  it('ignores a trailing slash on the request and on the route', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/plain' })
      a() {
        return 'plain'
      }
      @Route({ path: '/slashed/' })
      b() {
        return 'slashed'
      }
    }
    expect(await (await engine.request('/plain/')).text()).toBe('plain')
    expect(await (await engine.request('/slashed')).text()).toBe('slashed')
    expect(await (await engine.request('/slashed/')).text()).toBe('slashed')
  })

  it('percent-decodes parameter values (an encoded slash stays inside the value)', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/p/:name' })
      p(ctx: Ctx) {
        return { name: ctx.req.param('name') }
      }
    }
    expect(await (await engine.request('/p/hello%20w%C3%B6rld')).json()).toEqual({ name: 'hello wörld' })
    expect(await (await engine.request('/p/a%2Fb')).json()).toEqual({ name: 'a/b' })
  })

  it('routes on the path only; the query string reaches ctx.req.query', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/search' })
      s(ctx: Ctx) {
        return { q: ctx.req.query('q'), path: ctx.req.path }
      }
    }
    const res = await engine.request('/search?q=rust%20napi&page=2')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ q: 'rust napi', path: '/search' })
  })
})

describe('methods and misses over a real socket', () => {
  function build() {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/thing' })
      get() {
        return { kind: 'thing' }
      }
      @Route({ method: 'POST', path: '/thing' })
      post() {
        return { created: true }
      }
    }
    return engine
  }

  it('answers HEAD from the GET route with the headers and no body', async () => {
    const engine = build()
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'HEAD', '/thing')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.body.length).toBe(0)
    expect(engine.stats().jsCalls).toBe(1)
  })

  it('answers an unknown path with 404 JSON and never calls into JS', async () => {
    const engine = build()
    const { base } = await listen(engine)
    const res = await fetch(`${base}/nowhere`)
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ error: 'Not Found', message: 'no route for GET /nowhere' })
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('answers a known path with the wrong method with 405 JSON + Allow, without calling JS', async () => {
    const engine = build()
    const { base } = await listen(engine)
    const res = await fetch(`${base}/thing`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    const allow = (res.headers.get('allow') || '').split(/\s*,\s*/)
    expect(allow).toEqual(expect.arrayContaining(['GET', 'POST']))
    expect(allow).not.toContain('DELETE')
    const body = await res.json()
    expect(body.error).toBe('Method Not Allowed')
    expect(typeof body.message).toBe('string')
    expect(engine.stats().jsCalls).toBe(0)
    expect(engine.stats().requests).toBe(1)
  })

  it('counts exactly one JS call per routed request', async () => {
    const engine = build()
    const { base } = await listen(engine)
    await (await fetch(`${base}/thing`)).text()
    await (await fetch(`${base}/thing`, { method: 'POST' })).text()
    await (await fetch(`${base}/missing`)).text()
    expect(engine.stats()).toMatchObject({ requests: 3, jsCalls: 2, inFlight: 0 })
  })
})

describe('middlewares', () => {
  it('run global → module → route → handler, and unwind in reverse', async () => {
    const log: string[] = []
    const mw = (name: string) => async (_ctx: Ctx, next: () => Promise<unknown>) => {
      log.push(`${name}>`)
      await next()
      log.push(`<${name}`)
    }
    const { Module, engine } = setup({ route: { globalMiddlewares: [mw('g1'), mw('g2')] } })
    @Module('m', { routeMiddlewares: [mw('mod')] })
    class M {
      @Route({ path: '/x', middlewares: [mw('route')] })
      x() {
        log.push('handler')
        return 'ok'
      }
    }
    const res = await engine.request('/x')
    expect(await res.text()).toBe('ok')
    expect(log).toEqual(['g1>', 'g2>', 'mod>', 'route>', 'handler', '<route', '<mod', '<g2', '<g1'])
  })

  it('run the whole chain inside a single JS call per request', async () => {
    const pass = async (_ctx: Ctx, next: () => Promise<unknown>) => {
      await next()
    }
    const wrapper = {
      name: 'wrapper',
      priority: PluginPriority.BUSINESS,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers) h.wrap(async (next: () => Promise<unknown>) => next())
      },
    }
    const { Module, engine } = setup({ route: { globalMiddlewares: [pass] }, plugins: [wrapper] })
    @Module('m', { routeMiddlewares: [pass] })
    class M {
      @Route({ path: '/x', middlewares: [pass] })
      x() {
        return 'ok'
      }
    }
    const { base } = await listen(engine)
    expect(await (await fetch(`${base}/x`)).text()).toBe('ok')
    expect(await (await fetch(`${base}/x`)).text()).toBe('ok')
    expect(engine.stats().jsCalls).toBe(2)
  })

  it('short-circuit when one returns a response without calling next', async () => {
    let handlerCalls = 0
    const guard = async (ctx: Ctx, next: () => Promise<unknown>) => {
      if (ctx.req.header('authorization') !== 'Bearer ok') return ctx.json({ error: 'denied' }, 401)
      await next()
    }
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/secret', middlewares: [guard] })
      s() {
        handlerCalls++
        return 'secret'
      }
    }
    const denied = await engine.request('/secret')
    expect(denied.status).toBe(401)
    expect(await denied.json()).toEqual({ error: 'denied' })
    expect(handlerCalls).toBe(0)
    const allowed = await engine.request('/secret', { headers: { authorization: 'Bearer ok' } })
    expect(await allowed.text()).toBe('secret')
    expect(handlerCalls).toBe(1)
  })

  it('can add a response header after next() with ctx.header', async () => {
    const timing = async (ctx: Ctx, next: () => Promise<unknown>) => {
      await next()
      ctx.header('X-After', 'yes')
    }
    const { Module, engine } = setup({ route: { globalMiddlewares: [timing] } })
    @Module('m')
    class M {
      @Route({ path: '/x' })
      x() {
        return { ok: true }
      }
    }
    const { base } = await listen(engine)
    const res = await fetch(`${base}/x`)
    expect(res.headers.get('x-after')).toBe('yes')
    expect(await res.json()).toEqual({ ok: true })
  })
})
