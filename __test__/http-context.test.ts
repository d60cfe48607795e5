import { afterEach, describe, expect, it } from 'vitest'
import { Route } from '../index.js'
import { setup, listen, stopAll, type Ctx } from './helpers/http'

afterEach(stopAll)

describe('ctx.req', () => {
  it('exposes method, url, path, params and query over a real socket', async () => {
    const { Module, engine } = setup()
    let seen: any
    @Module('m')
    class M {
      @Route({ method: 'PATCH', path: '/items/:id' })
      h(ctx: Ctx) {
        const r = ctx.req
        seen = {
          method: r.method,
          url: r.url,
          path: r.path,
          id: r.param('id'),
          params: r.param(),
          missing: r.param('nope'),
          a: r.query('a'),
          all: r.query(),
          as: r.queries('a'),
          queries: r.queries(),
          none: r.query('zzz'),
        }
        return null
      }
    }
    const { port, base } = await listen(engine)
    const res = await fetch(`${base}/items/7?a=1&a=2&b=x%20y`, { method: 'PATCH' })
    expect(res.status).toBe(204)
    expect(seen).toEqual({
      method: 'PATCH',
      url: `http://127.0.0.1:${port}/items/7?a=1&a=2&b=x%20y`,
      path: '/items/7',
      id: '7',
      params: { id: '7' },
      missing: undefined,
      a: '1',
      all: { a: '1', b: 'x y' },
      as: ['1', '2'],
      queries: { a: ['1', '2'], b: ['x y'] },
      none: undefined,
    })
  })

  it('reads headers case-insensitively, one or all', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/h' })
      h(ctx: Ctx) {
        return {
          upper: ctx.req.header('X-Custom-Thing'),
          lower: ctx.req.header('x-custom-thing'),
          absent: ctx.req.header('x-absent') ?? null,
          all: ctx.req.header(),
        }
      }
    }
    const { base } = await listen(engine)
    const body = await (await fetch(`${base}/h`, { headers: { 'X-Custom-Thing': 'v1' } })).json()
    expect(body.upper).toBe('v1')
    expect(body.lower).toBe('v1')
    expect(body.absent).toBeNull()
    expect(body.all['x-custom-thing']).toBe('v1')
    expect(body.all.host).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('reads the body as json(), text() and arrayBuffer()', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ method: 'POST', path: '/json' })
      async j(ctx: Ctx) {
        const v = await ctx.req.json()
        return { got: v, again: await ctx.req.json() }
      }
      @Route({ method: 'POST', path: '/text' })
      async t(ctx: Ctx) {
        return `text:${await ctx.req.text()}`
      }
      @Route({ method: 'POST', path: '/bytes' })
      async b(ctx: Ctx) {
        const ab: ArrayBuffer = await ctx.req.arrayBuffer()
        return { isArrayBuffer: ab instanceof ArrayBuffer, bytes: [...new Uint8Array(ab)] }
      }
    }
    const { base } = await listen(engine)
    const post = (path: string, body: BodyInit) => fetch(`${base}${path}`, { method: 'POST', body })
    expect(await (await post('/json', JSON.stringify({ a: [1, 'ü'] }))).json()).toEqual({ got: { a: [1, 'ü'] }, again: { a: [1, 'ü'] } })
    expect(await (await post('/text', 'héllo')).text()).toBe('text:héllo')
    expect(await (await post('/bytes', new Uint8Array([0, 255, 7]))).json()).toEqual({ isArrayBuffer: true, bytes: [0, 255, 7] })
  })
})

describe('ctx response helpers', () => {
  function build() {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/json' })
      j(ctx: Ctx) {
        return ctx.json({ made: true }, 201, { 'X-Extra': 'e' })
      }
      @Route({ path: '/text' })
      t(ctx: Ctx) {
        return ctx.text('plain words', 202)
      }
      @Route({ path: '/html' })
      h(ctx: Ctx) {
        return ctx.html('<h1>hi</h1>')
      }
      @Route({ path: '/body' })
      b(ctx: Ctx) {
        return ctx.body('a,b\n1,2', 200, { 'Content-Type': 'text/csv' })
      }
      @Route({ path: '/status-object' })
      so(ctx: Ctx) {
        ctx.status(201)
        return { created: 1 }
      }
      @Route({ path: '/status-json' })
      sj(ctx: Ctx) {
        ctx.status(203)
        return ctx.json({ x: 1 })
      }
      @Route({ path: '/header' })
      hd(ctx: Ctx) {
        ctx.header('X-Set-By', 'handler')
        return 'with header'
      }
      @Route({ path: '/redirect' })
      r(ctx: Ctx) {
        return ctx.redirect('/elsewhere')
      }
      @Route({ path: '/redirect-301' })
      r301(ctx: Ctx) {
        return ctx.redirect('https://example.com/new', 301)
      }
    }
    return engine
  }

  it('ctx.json sets status, extra headers and a JSON content type', async () => {
    const { base } = await listen(build())
    const res = await fetch(`${base}/json`)
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('x-extra')).toBe('e')
    expect(await res.json()).toEqual({ made: true })
  })

  it('ctx.text and ctx.html set their content types', async () => {
    const engine = build()
    const t = await engine.request('/text')
    expect(t.status).toBe(202)
    expect(t.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await t.text()).toBe('plain words')
    const h = await engine.request('/html')
    expect(h.status).toBe(200)
    expect(h.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await h.text()).toBe('<h1>hi</h1>')
  })

  it('ctx.body sends raw data with the given headers', async () => {
    const res = await build().request('/body')
    expect(res.headers.get('content-type')).toBe('text/csv')
    expect(await res.text()).toBe('a,b\n1,2')
  })

  it('ctx.status(n) sets the status of a plain return value and of ctx.json()', async () => {
    const engine = build()
    const a = await engine.request('/status-object')
    expect(a.status).toBe(201)
    expect(await a.json()).toEqual({ created: 1 })
    const b = await engine.request('/status-json')
    expect(b.status).toBe(203)
  })

  it('ctx.header(k, v) adds a response header', async () => {
    const { base } = await listen(build())
    const res = await fetch(`${base}/header`)
    expect(res.headers.get('x-set-by')).toBe('handler')
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await res.text()).toBe('with header')
  })

  it('ctx.redirect answers 302 by default, or the given status, with Location', async () => {
    const { base } = await listen(build())
    const a = await fetch(`${base}/redirect`, { redirect: 'manual' })
    expect(a.status).toBe(302)
    expect(a.headers.get('location')).toBe('/elsewhere')
    const b = await fetch(`${base}/redirect-301`, { redirect: 'manual' })
    expect(b.status).toBe(301)
    expect(b.headers.get('location')).toBe('https://example.com/new')
  })
})

describe('ctx.set / ctx.get', () => {
  it('carry values from a middleware to the handler, per request only', async () => {
    let n = 0
    const before: unknown[] = []
    const stamp = async (ctx: Ctx, next: () => Promise<unknown>) => {
      before.push(ctx.get('requestNo'))
      ctx.set('requestNo', ++n)
      await next()
    }
    const { Module, engine } = setup({ route: { globalMiddlewares: [stamp] } })
    @Module('m')
    class M {
      @Route({ path: '/v' })
      v(ctx: Ctx) {
        const seen = { requestNo: ctx.get('requestNo'), vars: ctx.var, marker: ctx.get('marker') ?? null }
        if (ctx.req.query('mark')) ctx.set('marker', 'only-in-first-request')
        return seen
      }
    }
    const { base } = await listen(engine)
    expect(await (await fetch(`${base}/v?mark=1`)).json()).toEqual({ requestNo: 1, vars: { requestNo: 1 }, marker: null })
    expect(await (await fetch(`${base}/v`)).json()).toEqual({ requestNo: 2, vars: { requestNo: 2 }, marker: null })
    expect(before).toEqual([undefined, undefined])
  })
})

describe('return value mapping', () => {
  function build() {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/undefined' })
      u() {
        return undefined
      }
      @Route({ path: '/null' })
      n() {
        return null
      }
      @Route({ path: '/response' })
      r() {
        return new Response('made by fetch API', { status: 207, headers: { 'X-Web': 'yes', 'Content-Type': 'text/x-custom' } })
      }
      @Route({ path: '/cookies' })
      c() {
        const headers = new Headers()
        headers.append('Set-Cookie', 'a=1; Path=/')
        headers.append('Set-Cookie', 'b=2; HttpOnly')
        return new Response(null, { status: 200, headers })
      }
      @Route({ path: '/string' })
      s() {
        return 'just a string'
      }
      @Route({ path: '/object' })
      o() {
        return { a: 1, list: [true, null] }
      }
      @Route({ path: '/array' })
      arr() {
        return [1, 2, 3]
      }
      @Route({ path: '/number' })
      num() {
        return 42
      }
      @Route({ path: '/buffer' })
      b() {
        return Buffer.from([1, 2, 3, 250])
      }
      @Route({ path: '/async' })
      async a() {
        await Promise.resolve()
        return { later: true }
      }
    }
    return engine
  }

  it('undefined and null → 204 with an empty body', async () => {
    const { base } = await listen(build())
    for (const p of ['/undefined', '/null']) {
      const res = await fetch(`${base}${p}`)
      expect(res.status).toBe(204)
      expect(await res.text()).toBe('')
    }
  })

  it('a WHATWG Response is sent as is (status, headers, body)', async () => {
    const { base } = await listen(build())
    const res = await fetch(`${base}/response`)
    expect(res.status).toBe(207)
    expect(res.headers.get('x-web')).toBe('yes')
    expect(res.headers.get('content-type')).toBe('text/x-custom')
    expect(await res.text()).toBe('made by fetch API')
  })

  it('a WHATWG Response keeps every Set-Cookie header', async () => {
    const { base } = await listen(build())
    const res = await fetch(`${base}/cookies`)
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
  })

  it('a string → 200 text/plain', async () => {
    const res = await build().request('/string')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await res.text()).toBe('just a string')
  })

  it('objects, arrays, numbers and awaited values → 200 JSON', async () => {
    const engine = build()
    const cases: [string, unknown][] = [
      ['/object', { a: 1, list: [true, null] }],
      ['/array', [1, 2, 3]],
      ['/number', 42],
      ['/async', { later: true }],
    ]
    for (const [path, expected] of cases) {
      const res = await engine.request(path)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual(expected)
    }
  })

  it('a Buffer → application/octet-stream with the exact bytes', async () => {
    const { base } = await listen(build())
    const res = await fetch(`${base}/buffer`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([1, 2, 3, 250])
  })
})
