import { afterEach, describe, expect, it } from 'vitest'
import { Route, PluginPriority } from '../index.js'
import { setup, listen, stopAll, type Ctx } from './helpers/http'

afterEach(stopAll)

/** Echoes what the handler saw of the request. */
function build(plugins: unknown[] = []) {
  const { Module, engine } = setup({ plugins, route: { prefix: '/api' } })
  @Module('echo', { routePrefix: '/echo' })
  class Echo {
    @Route({ method: ['GET', 'POST', 'PUT', 'DELETE'], path: '/*' })
    async any(ctx: Ctx) {
      return {
        method: ctx.req.method,
        url: ctx.req.url,
        path: ctx.req.path,
        rest: ctx.req.param('*'),
        query: ctx.req.query(),
        auth: ctx.req.header('authorization') ?? null,
        type: ctx.req.header('content-type') ?? null,
        body: await ctx.req.text(),
      }
    }
  }
  return engine
}

describe('engine.request()', () => {
  it('takes a path string and returns a WHATWG Response', async () => {
    const engine = build()
    const res = await engine.request('/api/echo/a/b?x=1')
    expect(res).toBeInstanceOf(Response)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({
      method: 'GET',
      url: 'http://localhost/api/echo/a/b?x=1',
      path: '/api/echo/a/b',
      rest: 'a/b',
      query: { x: '1' },
      auth: null,
      type: null,
      body: '',
    })
  })

  it('takes an absolute URL (host and query kept)', async () => {
    const res = await build().request('http://example.test:8080/api/echo/z?q=%C3%A9t%C3%A9&n=2')
    const body = await res.json()
    expect(body.url).toBe('http://example.test:8080/api/echo/z?q=%C3%A9t%C3%A9&n=2')
    expect(body.path).toBe('/api/echo/z')
    expect(body.query).toEqual({ q: 'été', n: '2' })
  })

  it('takes a WHATWG Request with method, headers and body', async () => {
    const req = new Request('http://localhost/api/echo/items', {
      method: 'POST',
      headers: { Authorization: 'Bearer t0k', 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'widget' }),
    })
    const body = await (await build().request(req)).json()
    expect(body).toMatchObject({
      method: 'POST',
      path: '/api/echo/items',
      auth: 'Bearer t0k',
      type: 'application/json',
      body: '{"name":"widget"}',
    })
  })

  it('takes init { method, headers, body } with a path', async () => {
    const body = await (await build().request('/api/echo/put-me', { method: 'PUT', headers: { authorization: 'Basic abc' }, body: 'raw text' })).json()
    expect(body).toMatchObject({ method: 'PUT', rest: 'put-me', auth: 'Basic abc', body: 'raw text' })
  })

  it('accepts binary bodies (Uint8Array) unchanged', async () => {
    const body = await (await build().request('/api/echo/bin', { method: 'POST', body: new TextEncoder().encode('bytes ✓') })).json()
    expect(body.body).toBe('bytes ✓')
  })

  it('returns 404 and 405 as Responses too, without calling JS', async () => {
    const engine = build()
    const missing = await engine.request('/nowhere')
    expect(missing).toBeInstanceOf(Response)
    expect(missing.status).toBe(404)
    expect((await missing.json()).error).toBe('Not Found')
    const wrong = await engine.request('/api/echo/x', { method: 'PATCH' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toMatch(/GET/)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('answers 204 with a null body', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ method: 'DELETE', path: '/thing' })
      del() {}
    }
    const res = await engine.request('/thing', { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect(res.body).toBeNull()
  })

  it('goes through the same plugin chain as a socket request (a wrap plugin sees it)', async () => {
    const seen: string[] = []
    const wrapper = {
      name: 'recorder',
      priority: PluginPriority.LOGGING,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers) {
          h.wrap(async (next: () => Promise<unknown>, _instance: unknown, ctx: Ctx) => {
            seen.push(`before ${ctx.req.method} ${ctx.req.path}`)
            const out = await next()
            seen.push('after')
            return out
          })
        }
      },
    }
    const engine = build([wrapper])
    const res = await engine.request('/api/echo/wrapped', { method: 'POST', body: 'b' })
    expect(res.status).toBe(200)
    expect(seen).toEqual(['before POST /api/echo/wrapped', 'after'])
    // The same chain over a real socket.
    const { base } = await listen(engine)
    await (await fetch(`${base}/api/echo/socket`)).json()
    expect(seen).toEqual(['before POST /api/echo/wrapped', 'after', 'before GET /api/echo/socket', 'after'])
  })

  it('a wrap plugin can short-circuit in-process requests as well', async () => {
    const gate = {
      name: 'gate',
      priority: PluginPriority.SECURITY,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers) h.wrap(async () => new Response('blocked by gate', { status: 403 }))
      },
    }
    const res = await build([gate]).request('/api/echo/x')
    expect(res.status).toBe(403)
    expect(await res.text()).toBe('blocked by gate')
  })

  it('opens no socket and counts one JS call per routed request', async () => {
    const engine = build()
    expect(engine.getPort()).toBe(0)
    await (await engine.request('/api/echo/1')).text()
    await (await engine.request('/api/echo/2', { method: 'POST', body: 'x' })).text()
    expect(engine.getPort()).toBe(0)
    expect(engine.stats()).toMatchObject({ requests: 2, jsCalls: 2, inFlight: 0 })
  })

  it('still allows start() afterwards, serving the same routes', async () => {
    const engine = build()
    expect((await engine.request('/api/echo/before')).status).toBe(200)
    const { port, base } = await listen(engine)
    expect(engine.getPort()).toBe(port)
    const body = await (await fetch(`${base}/api/echo/after`)).json()
    expect(body.rest).toBe('after')
  })
})

describe('requests crossing into JavaScript in one batch', () => {
  it('each handler sees its own method, target, params, headers, body and address, non-ASCII included', async () => {
    const { Module, engine } = setup()
    @Module('batch')
    class Batch {
      @Route({ method: ['GET', 'POST'], path: '/b/:name' })
      async b(ctx: Ctx) {
        return {
          method: ctx.req.method,
          name: ctx.req.param('name'),
          q: ctx.req.query('i'),
          u: ctx.req.header('x-u') ?? null,
          n: ctx.req.header('x-n') ?? null,
          headers: Object.keys(ctx.req.header()).sort(),
          ip: ctx.req.ip,
          body: await ctx.req.text(),
        }
      }
    }
    void Batch
    const { base } = await listen(engine)
    // Sent at once, so that many are taken by one wake-up of the JS thread.
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const post = i % 3 === 0
        const res = await fetch(`${base}/b/${encodeURIComponent(`n${i}✓ é`)}?i=${i}`, {
          method: post ? 'POST' : 'GET',
          // A latin-1 header value arrives as bytes that are not UTF-8: replaced, not shifted.
          headers: i % 2 ? { 'x-u': 'caf\u00e9', 'x-n': String(i) } : { 'x-n': String(i) },
          body: post ? `body ${i} ✓` : undefined,
        })
        return [i, post, await res.json()] as const
      }),
    )
    for (const [i, post, got] of answers) {
      expect(got).toMatchObject({
        method: post ? 'POST' : 'GET',
        name: `n${i}✓ é`,
        q: String(i),
        u: i % 2 ? 'caf\ufffd' : null,
        n: String(i),
        ip: '127.0.0.1',
        body: post ? `body ${i} ✓` : '',
      })
      expect(got.headers).toContain('host')
    }
  })
})
