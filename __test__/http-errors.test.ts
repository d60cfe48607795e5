import { afterEach, describe, expect, it } from 'vitest'
import { Route, HttpError, Context, HttpResponse } from '../index.js'
import { setup, listen, stopAll, RawClient, rawRequest, head, type Ctx } from './helpers/http'

afterEach(stopAll)

function echoJson(options: Record<string, unknown> = {}) {
  const { Module, engine } = setup({ options })
  @Module('m')
  class M {
    @Route({ method: 'POST', path: '/echo' })
    async echo(ctx: Ctx) {
      return { got: await ctx.req.json() }
    }
    @Route({ method: 'POST', path: '/len' })
    async len(ctx: Ctx) {
      return { len: (await ctx.req.arrayBuffer()).byteLength }
    }
  }
  return engine
}

describe('request bodies', () => {
  it('malformed JSON read by ctx.req.json() → 400 JSON naming the problem', async () => {
    const { base } = await listen(echoJson())
    const res = await fetch(`${base}/echo`, { method: 'POST', body: '{"a": 1,', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = await res.json()
    expect(body.error).toBe('Bad Request')
    expect(body.message).toMatch(/malformed json/i)
  })

  it('an empty body read by ctx.req.json() → 400, not 500', async () => {
    const res = await echoJson().request('/echo', { method: 'POST' })
    expect(res.status).toBe(400)
    expect((await res.json()).message).toMatch(/json/i)
  })

  it('a body within bodyLimit reaches the handler whole', async () => {
    const { base } = await listen(echoJson({ bodyLimit: 64 }))
    const res = await fetch(`${base}/len`, { method: 'POST', body: 'x'.repeat(64) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ len: 64 })
  })

  it('a body over bodyLimit (Content-Length) → 413 JSON, handler never called', async () => {
    const engine = echoJson({ bodyLimit: 64 })
    const { base } = await listen(engine)
    const res = await fetch(`${base}/len`, { method: 'POST', body: 'x'.repeat(65) })
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect((await res.json()).error).toBe('Payload Too Large')
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('a chunked body that grows over bodyLimit → 413, handler never called', async () => {
    const engine = echoJson({ bodyLimit: 64 })
    const { port } = await listen(engine)
    const chunk = 'y'.repeat(40)
    const chunked = `${[chunk, chunk, chunk].map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('')}0\r\n\r\n`
    const res = await rawRequest(port, 'POST', '/len', { headers: { 'Transfer-Encoding': 'chunked' }, body: chunked })
    expect(res.status).toBe(413)
    expect(JSON.parse(res.text).error).toBe('Payload Too Large')
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('a chunked body within bodyLimit is reassembled for the handler', async () => {
    const { port } = await listen(echoJson({ bodyLimit: 64 }))
    const chunked = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'
    const res = await rawRequest(port, 'POST', '/len', { headers: { 'Transfer-Encoding': 'chunked' }, body: chunked })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toEqual({ len: 11 })
  })

  it('in-process request() enforces bodyLimit too', async () => {
    const res = await echoJson({ bodyLimit: 8 }).request('/len', { method: 'POST', body: '123456789' })
    expect(res.status).toBe(413)
  })
})

describe('thrown errors', () => {
  function build(route: Record<string, unknown> = {}) {
    const { Module, engine } = setup({ route })
    @Module('m')
    class M {
      @Route({ path: '/boom' })
      boom() {
        throw new Error('kaboom happened')
      }
      @Route({ path: '/reject' })
      async reject() {
        await Promise.resolve()
        throw new TypeError('async failure')
      }
      @Route({ path: '/string-thrown' })
      stringThrown() {
        throw 'plain string failure'
      }
      @Route({ path: '/status-prop' })
      statusProp() {
        throw Object.assign(new Error('no such order'), { status: 404 })
      }
      @Route({ path: '/teapot' })
      teapot() {
        throw new HttpError(418, 'short and stout')
      }
    }
    return { engine, M }
  }

  it('a thrown Error → 500 {"error":"Internal server error","message"} without a stack trace', async () => {
    const { base } = await listen(build().engine)
    for (const [path, message] of [
      ['/boom', 'kaboom happened'],
      ['/reject', 'async failure'],
    ]) {
      const res = await fetch(`${base}${path}`)
      expect(res.status).toBe(500)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      const text = await res.text()
      expect(JSON.parse(text)).toEqual({ error: 'Internal server error', message })
      expect(text).not.toMatch(/\bat \S|http-errors\.test|node:internal|stack/)
    }
  })

  it('HttpError(418, msg) → 418 with the message', async () => {
    const res = await build().engine.request('/teapot')
    expect(res.status).toBe(418)
    const body = await res.json()
    expect(body.message).toBe('short and stout')
    expect(typeof body.error).toBe('string')
  })

  it('a thrown non-Error value → 500 with its text as the message', async () => {
    const res = await build().engine.request('/string-thrown')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: 'Internal server error', message: 'plain string failure' })
  })

  it('an error carrying a numeric status uses it with its reason phrase', async () => {
    const res = await build().engine.request('/status-prop')
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'Not Found', message: 'no such order' })
  })

  it('errorTransformer(ctx, err, handler) decides the answer when configured', async () => {
    const calls: any[] = []
    const { engine } = build({
      errorTransformer(ctx: Ctx, err: any, handler: any) {
        calls.push({ ctx, err, handler })
        return ctx.json({ transformed: err.message, path: ctx.req.path }, 422, { 'X-Transformed': '1' })
      },
    })
    const { base } = await listen(engine)
    const res = await fetch(`${base}/boom`)
    expect(res.status).toBe(422)
    expect(res.headers.get('x-transformed')).toBe('1')
    expect(await res.json()).toEqual({ transformed: 'kaboom happened', path: '/boom' })
    expect(calls).toHaveLength(1)
    expect(calls[0].ctx).toBeInstanceOf(Context)
    expect(calls[0].err).toBeInstanceOf(Error)
    expect(calls[0].err.message).toBe('kaboom happened')
    expect(calls[0].handler).toMatchObject({ type: 'route', methodName: 'boom' })
  })

  it('errorTransformer also sees errors thrown by middlewares', async () => {
    const seen: string[] = []
    const { Module, engine } = setup({
      route: {
        globalMiddlewares: [
          async () => {
            throw new Error('from middleware')
          },
        ],
        errorTransformer: (ctx: Ctx, err: Error) => {
          seen.push(err.message)
          return ctx.text(`handled: ${err.message}`, 409)
        },
      },
    })
    @Module('m')
    class M {
      @Route({ path: '/x' })
      x() {
        return 'unreachable'
      }
    }
    const res = await engine.request('/x')
    expect(res.status).toBe(409)
    expect(await res.text()).toBe('handled: from middleware')
    expect(seen).toEqual(['from middleware'])
  })
})

describe('answers that cannot be sent', () => {
  // Synchronous answers of one wake-up travel to Rust together: a bad one must
  // become a 500 of its own without touching the others.
  it('a status that is not a number → 500 JSON; concurrent answers are unaffected', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/bad' })
      bad(_ctx: Ctx) {
        return new HttpResponse('x', 'teapot' as unknown as number)
      }
      @Route({ path: '/good/:n' })
      good(ctx: Ctx) {
        return { n: Number(ctx.req.param('n')) }
      }
    }
    const { base } = await listen(engine)
    const urls = Array.from({ length: 40 }, (_, i) => (i % 10 === 5 ? `${base}/bad` : `${base}/good/${i}`))
    const answers = await Promise.all(
      urls.map(async (u) => {
        const res = await fetch(u)
        return { url: u, status: res.status, body: await res.json() }
      }),
    )
    for (const [i, a] of answers.entries()) {
      if (a.url.endsWith('/bad')) {
        expect(a.status).toBe(500)
        expect(a.body.error).toBe('Internal server error')
        expect(a.body.message).toMatch(/could not be sent/)
      } else {
        expect(a).toEqual({ url: a.url, status: 200, body: { n: i } })
      }
    }
  })

  it('an async handler with a bad status gets the same 500', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/bad' })
      async bad() {
        await Promise.resolve()
        return new HttpResponse('x', 'teapot' as unknown as number)
      }
    }
    const { base } = await listen(engine)
    const res = await fetch(`${base}/bad`)
    expect(res.status).toBe(500)
    expect((await res.json()).error).toBe('Internal server error')
  })
})

describe('handler timeout', () => {
  it('a handler that never settles → 503 after handlerTimeout; the server keeps serving', async () => {
    const { Module, engine } = setup({ options: { handlerTimeout: 200 } })
    @Module('m')
    class M {
      @Route({ path: '/hang' })
      hang() {
        return new Promise(() => {})
      }
      @Route({ path: '/ok' })
      ok() {
        return 'fine'
      }
    }
    const { port, base } = await listen(engine)
    const client = await RawClient.connect(port)
    const started = Date.now()
    client.write(head('GET', '/hang'))
    const res = await client.read()
    const elapsed = Date.now() - started
    expect(res.status).toBe(503)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(JSON.parse(res.text).error).toBe('Service Unavailable')
    expect(elapsed).toBeGreaterThanOrEqual(150)
    expect(elapsed).toBeLessThan(5000)
    // The timed-out request is not counted as in flight any more ...
    expect(engine.stats().inFlight).toBe(0)
    // ... the same keep-alive connection is still usable ...
    client.write(head('GET', '/ok'))
    expect((await client.read()).text).toBe('fine')
    client.destroy()
    // ... and so is a new connection.
    const again = await fetch(`${base}/ok`)
    expect(again.status).toBe(200)
    expect(await again.text()).toBe('fine')
  })

  it('in-process request() gets the 503 too', async () => {
    const { Module, engine } = setup({ options: { handlerTimeout: 200 } })
    @Module('m')
    class M {
      @Route({ path: '/hang' })
      hang() {
        return new Promise(() => {})
      }
    }
    const res = await engine.request('/hang')
    expect(res.status).toBe(503)
    expect(engine.stats().inFlight).toBe(0)
  })
})
