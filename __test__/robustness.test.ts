// Edge cases a demanding user hits: odd handler results, streamed and proxied
// responses, start/stop races, hooks that reject, request() details.
import http from 'node:http'
import zlib from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { Route } from '../index.js'
import { RawClient, canConnect, deferred, listen, setup, stopAll } from './helpers/http'

afterEach(stopAll)

function route(Module: any, path: string, fn: (ctx: any) => unknown, method = 'GET') {
  class R {
    handle(ctx: any) {
      return fn(ctx)
    }
  }
  Module(`m${path.replace(/\W/g, '_')}`)(R)
  Route({ method: method as any, path })(R.prototype, 'handle', Object.getOwnPropertyDescriptor(R.prototype, 'handle')!)
  return R
}

describe('handler results that cannot be sent as they are', () => {
  it('a function or a symbol is a 500 JSON error, not an empty JSON body', async () => {
    const { Module, engine } = setup()
    route(Module, '/fn', () => () => 1)
    route(Module, '/sym', () => Symbol('x'))
    for (const path of ['/fn', '/sym']) {
      const res = await engine.request(path)
      expect(res.status).toBe(500)
      expect((await res.json()).message).toMatch(/cannot be sent as JSON/)
    }
  })

  it('keeps a mixed-case Content-Type given to ctx.body()', async () => {
    const { Module, engine } = setup()
    route(Module, '/vnd', (ctx) => ctx.body({ a: 1 }, 200, { 'Content-Type': 'application/vnd.api+json' }))
    const res = await engine.request('/vnd')
    expect(res.headers.get('content-type')).toBe('application/vnd.api+json')
    expect(await res.json()).toEqual({ a: 1 })
  })

  it('a Content-Length copied from elsewhere does not corrupt a keep-alive connection', async () => {
    const { Module, engine } = setup()
    route(Module, '/cl', () => new Response('hello', { headers: { 'content-length': '100' } }))
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    try {
      client.write('GET /cl HTTP/1.1\r\nHost: x\r\n\r\nGET /cl HTTP/1.1\r\nHost: x\r\n\r\n')
      const a = await client.read()
      const b = await client.read()
      expect([a.status, a.body.toString(), b.status, b.body.toString()]).toEqual([200, 'hello', 200, 'hello'])
      expect(a.headers['content-length']).toBe('5')
    } finally {
      client.destroy()
    }
  })
})

describe('streamed and proxied responses', () => {
  it('a streamed Response body over responseLimit is cancelled and answered 500', async () => {
    const { Module, engine } = setup({ options: { responseLimit: 1024 } })
    const cancelled = deferred<unknown>()
    route(Module, '/big', () => {
      const chunk = new Uint8Array(512)
      return new Response(
        new ReadableStream({
          pull(c) {
            c.enqueue(chunk)
          },
          cancel(reason) {
            cancelled.resolve(reason)
          },
        }),
      )
    })
    const res = await engine.request('/big')
    expect(res.status).toBe(500)
    expect((await res.json()).message).toMatch(/larger than the limit of 1024 bytes/)
    expect(String(await cancelled.promise)).toMatch(/limit/)
  })

  it('a stream that never ends is cancelled when the handler time is up', async () => {
    const { Module, engine } = setup({ options: { handlerTimeout: 150 } })
    const cancelled = deferred<unknown>()
    route(Module, '/forever', () => new Response(new ReadableStream({ cancel: (r) => cancelled.resolve(r) })))
    const res = await engine.request('/forever')
    expect(res.status).toBe(503)
    expect(String(await cancelled.promise)).toMatch(/handler timeout/)
  })

  it('returning a fetch() of a gzip upstream sends the decoded body without Content-Encoding', async () => {
    const payload = JSON.stringify({ hello: 'world'.repeat(50) })
    const upstream = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end(zlib.gzipSync(payload))
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    try {
      const up = `http://127.0.0.1:${(upstream.address() as any).port}/`
      const { Module, engine } = setup()
      route(Module, '/proxy', () => fetch(up))
      const { base } = await listen(engine)
      const res = await fetch(`${base}/proxy`)
      expect(res.headers.get('content-encoding')).toBeNull()
      expect(await res.text()).toBe(payload)
    } finally {
      await new Promise((r) => upstream.close(r))
    }
  })
})

describe('start and stop', () => {
  it('stop() during start() leaves nothing listening', async () => {
    const { Module, engine } = setup()
    route(Module, '/x', () => 'x')
    const starting = engine.start(0)
    await engine.stop()
    await expect(starting).rejects.toThrow(/stopped while starting/)
    expect(engine.getPort()).toBe(0)
  })

  it('a start() that failed because the port is taken can be retried', async () => {
    const blocker = http.createServer()
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', r))
    const taken = (blocker.address() as any).port
    try {
      const { Module, engine } = setup()
      route(Module, '/x', () => 'x')
      await expect(engine.start(taken)).rejects.toThrow(/could not listen/)
      const port = await engine.start(0)
      expect(await canConnect(port)).toBe(true)
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })

  it('stop() waits for in-process requests before onDestroy', async () => {
    const events: string[] = []
    const release = deferred()
    const { Module, engine } = setup({ plugins: [{ name: 'db', onDestroy: () => events.push('onDestroy') }] })
    route(Module, '/slow', async () => {
      await release.promise
      events.push('handler done')
      return 'ok'
    })
    const pending = engine.request('/slow').then((r: Response) => events.push(`response ${r.status}`))
    await new Promise((r) => setImmediate(r))
    const stopped = engine.stop().then(() => events.push('stopped'))
    release.resolve()
    await Promise.all([pending, stopped])
    expect(events.indexOf('handler done')).toBeLessThan(events.indexOf('onDestroy'))
    expect(events).toContain('response 200')
  })

  it('an async hook that rejects does not crash an engine used only through get()', async () => {
    const { Module, engine } = setup({
      plugins: [{ name: 'bad', onInit: async () => Promise.reject(new Error('async boom')) }],
    })
    const R = route(Module, '/x', () => 'x')
    expect(engine.get(R)).toBeInstanceOf(R)
    // vitest fails the run on an unhandled rejection; request() still reports the hook's failure.
    await expect(engine.request('/x')).rejects.toThrow('Plugin bad failed in onInit: async boom')
  })
})

describe('request() and handler() details', () => {
  it('a 205 answer becomes a Response with no body', async () => {
    const { Module, engine } = setup()
    route(Module, '/reset', (ctx) => ctx.body(null, 205))
    const res = await engine.request('/reset')
    expect(res.status).toBe(205)
  })

  it('request(Request, init) lets init override the Request, like fetch()', async () => {
    const { Module, engine } = setup()
    route(Module, '/echo', async (ctx) => ({ m: ctx.req.method, body: await ctx.req.text() }), 'POST')
    const res = await engine.request(new Request('http://localhost/echo'), { method: 'POST', body: 'abc' })
    expect(await res.json()).toEqual({ m: 'POST', body: 'abc' })
  })

  it('handler() returns a Promise even for a method without decorators', async () => {
    const { Module, engine } = setup()
    class Plain {
      add(a: number, b: number) {
        return a + b
      }
    }
    Module('plain')(Plain)
    const call = engine.handler(Plain, 'add')(2, 3)
    expect(call).toBeInstanceOf(Promise)
    expect(await call).toBe(5)
  })

  it('an engine prefix without a leading slash still serves _version', async () => {
    const { engine } = setup({ options: { prefix: 'api/' } })
    expect(engine.options.prefix).toBe('/api')
    const res = await engine.request('/api/_version')
    expect(res.status).toBe(200)
  })

  it('an errorTransformer that returns nothing leaves the default 500, not a silent 204', async () => {
    const seen: unknown[] = []
    const { Module, engine } = setup({ route: { errorTransformer: (_c: any, err: unknown) => void seen.push(err) } })
    route(Module, '/boom', () => {
      throw new Error('kaput')
    })
    const res = await engine.request('/boom')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: 'Internal server error', message: 'kaput' })
    expect(seen).toHaveLength(1)
  })
})

describe('many requests at once (they reach JavaScript in batches)', () => {
  it('answers each of 300 concurrent requests with its own result, over a socket and in-process', async () => {
    const { Module, engine } = setup()
    route(Module, '/echo/:n', async (ctx) => {
      // Finish out of order, so answers cannot line up by accident.
      const n = Number(ctx.req.param('n'))
      if (n % 3 === 0) await new Promise((r) => setImmediate(r))
      return { n, q: ctx.req.query('q') }
    })
    const { base } = await listen(engine)
    const before = engine.stats().jsCalls
    const socket = Array.from({ length: 150 }, (_, n) => fetch(`${base}/echo/${n}?q=s${n}`).then((r) => r.json()))
    const inProcess = Array.from({ length: 150 }, (_, n) => engine.request(`/echo/${n + 150}?q=i${n + 150}`).then((r: Response) => r.json()))
    const answers = await Promise.all([...socket, ...inProcess])
    answers.forEach((a, n) => expect(a).toEqual({ n, q: `${n < 150 ? 's' : 'i'}${n}` }))
    // jsCalls counts requests handed to JavaScript, however many shared a wake-up.
    expect(engine.stats().jsCalls - before).toBe(300)
  })
})
