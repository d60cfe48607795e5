// Adversarial: what raw sockets can send the HTTP server that fetch() never
// would — odd paths, missing or doubled Host, half-closed connections,
// expectations, and malformed heads and bodies. Each case is one attack;
// each asserts the visible answer, and none waits longer than a few seconds.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Route } from '../../index.js'
import { setup, listen, stopAll, deferred, rawRequest, RawClient, head, type Ctx } from '../helpers/http'
import { eventually } from '../helpers/wait'

afterEach(stopAll)

let publicDir: string

beforeAll(() => {
  publicDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-raw-'))
  fs.mkdirSync(path.join(publicDir, 'sub'))
  fs.writeFileSync(path.join(publicDir, 'sub', 'inner.txt'), 'inner text')
})

afterAll(() => {
  fs.rmSync(publicDir, { recursive: true, force: true })
})

/** An engine with a few routes that show what they saw, and a static mount on /assets. */
function build(options: Record<string, unknown> = {}) {
  const { Module, engine } = setup({ options: { static: { prefix: '/assets', path: publicDir }, ...options } })
  const seen: any[] = []
  const slow = { entered: deferred(), release: deferred<string>() }
  @Module('m')
  class M {
    @Route({ path: '/files/:name' })
    files(ctx: Ctx) {
      const r = ctx.req
      const s = { path: r.path, url: r.url, name: r.param('name'), q: r.query('q') ?? null }
      seen.push(s)
      return s
    }
    @Route({ path: '/whoami' })
    whoami(ctx: Ctx) {
      return { url: ctx.req.url, host: ctx.req.header('host') ?? null }
    }
    @Route({ method: 'POST', path: '/echo' })
    async echo(ctx: Ctx) {
      return `echo:${await ctx.req.text()}`
    }
    @Route({ path: '/slow' })
    async slowRoute() {
      slow.entered.resolve()
      return await slow.release.promise
    }
  }
  return { engine, seen, slow }
}

/** Writes `data` on a fresh connection and reads one response. */
async function send(port: number, data: string | Buffer) {
  const client = await RawClient.connect(port)
  try {
    client.write(data)
    return await client.read()
  } finally {
    client.destroy()
  }
}

const json = (text: string) => JSON.parse(text)

describe('request paths are normalized before anything matches them', () => {
  it('dot segments and encoded unreserved characters: a TS route sees the normalized path, %2F kept encoded', async () => {
    const { engine, seen } = build()
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'GET', '/x/../files/./%61b%2fc?q=%2e%2e')
    expect(res.status).toBe(200)
    expect(seen).toEqual([{ path: '/files/ab%2Fc', url: 'http://test.local/files/ab%2Fc?q=%2e%2e', name: 'ab/c', q: '..' }])
  })

  it('climbing above the root: /../files/x → 400 JSON, the handler is not called', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'GET', '/../files/x')
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(json(res.text)).toEqual({ error: 'Bad Request', message: expect.stringMatching(/climbs above the root/) })
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('an encoded climb above the root: /files/%2e%2e/%2E%2E/x → 400 JSON', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'GET', '/files/%2e%2e/%2E%2E/x')
    expect(res.status).toBe(400)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('a broken percent escape: /files/%zz → 400 JSON, the handler is not called', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'GET', '/files/%zz')
    expect(res.status).toBe(400)
    expect(json(res.text).message).toMatch(/two hex digits/)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('a .. hidden behind an encoded slash: /files/..%2Fsecret → 400 JSON', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'GET', '/files/..%2Fsecret')
    expect(res.status).toBe(400)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('static files and in-process requests see the same normalized path', async () => {
    const { engine, seen } = build()
    const { port } = await listen(engine)
    const file = await rawRequest(port, 'GET', '/assets/x/../sub/%69nner.txt')
    expect(file.status).toBe(200)
    expect(file.text).toBe('inner text')
    const res = await engine.request('/a/%2e%2e/files/%7Eb')
    expect(res.status).toBe(200)
    expect(seen.at(-1)).toMatchObject({ path: '/files/~b', name: '~b' })
  })
})

describe('Host (RFC 9112 §3.2)', () => {
  it('an HTTP/1.1 request without Host → 400 JSON, the handler is not called', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await send(port, 'GET /whoami HTTP/1.1\r\n\r\n')
    expect(res.status).toBe(400)
    expect(json(res.text).message).toMatch(/must have a Host header/)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('two Host headers → 400 JSON', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await send(port, 'GET /whoami HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n')
    expect(res.status).toBe(400)
    expect(json(res.text).message).toMatch(/more than one Host/)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('a Host that is not host[:port] (a path in it) → 400 JSON', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await send(port, 'GET /whoami HTTP/1.1\r\nHost: a.example/evil?x=\r\n\r\n')
    expect(res.status).toBe(400)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('an absolute-form target wins over Host: ctx.req.url is on the target\'s authority', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await send(port, 'GET http://a.example/whoami?x=1 HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n')
    expect(res.status).toBe(200)
    expect(json(res.text)).toEqual({ url: 'http://a.example/whoami?x=1', host: 'a.example' })
  })

  it('HTTP/1.0 may still omit Host', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await send(port, 'GET /whoami HTTP/1.0\r\n\r\n')
    expect(res.status).toBe(200)
    expect(json(res.text).host).toBeNull()
  })
})

describe('half-closed connections (the client shuts its write side and waits)', () => {
  it('a TS route answers a client that sent its request and shut its write side', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    client.socket.end(head('GET', '/files/a'))
    const res = await client.read()
    expect(res.status).toBe(200)
    expect(json(res.text).name).toBe('a')
    await client.closed
  })

  it('a POST body followed by a shut write side is echoed', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    client.socket.end(head('POST', '/echo', { 'Content-Length': '5' }) + 'hello')
    const res = await client.read()
    expect(res.text).toBe('echo:hello')
    await client.closed
  })

  it('a static file is sent to a half-closed client', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    client.socket.end(head('GET', '/assets/sub/inner.txt'))
    const res = await client.read()
    expect(res.status).toBe(200)
    expect(res.text).toBe('inner text')
    await client.closed
  })

  it('a body cut short by the shut write side → 400 at once, not a wait for bodyTimeout', async () => {
    const { engine } = build({ bodyTimeout: 20_000 })
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    const started = Date.now()
    client.socket.end(head('POST', '/echo', { 'Content-Length': '10' }) + 'abc')
    const res = await client.read()
    expect(res.status).toBe(400)
    expect(Date.now() - started).toBeLessThan(5000)
    expect(engine.stats().jsCalls).toBe(0)
    client.destroy()
  })

  it('a client that goes away entirely during a slow handler: the request ends when the handler answers, the server keeps serving', async () => {
    const { engine, slow } = build()
    const { port, base } = await listen(engine)
    const client = await RawClient.connect(port)
    client.write(head('GET', '/slow'))
    await slow.entered.promise
    client.destroy()
    await client.closed
    slow.release.resolve('late')
    await eventually('no request in flight', () => engine.stats().inFlight === 0, 5000)
    expect(await (await fetch(`${base}/files/b`)).json()).toMatchObject({ name: 'b' })
  })
})

describe('Expect', () => {
  it('100-continue with a Content-Length over bodyLimit → 413 at once, no 100 Continue, connection closed', async () => {
    const { engine } = build({ bodyLimit: 100, bodyTimeout: 20_000 })
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    const started = Date.now()
    client.write(head('POST', '/echo', { 'Content-Length': '1000', Expect: '100-continue' }))
    const res = await client.read()
    expect(res.status).toBe(413)
    expect(json(res.text).message).toMatch(/limit of 100 bytes/)
    expect(client.all.toString('latin1')).not.toMatch(/100 Continue/)
    await client.closed
    expect(Date.now() - started).toBeLessThan(5000)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('100-continue within bodyLimit gets 100 Continue, then the answer', async () => {
    const { engine } = build({ bodyLimit: 100 })
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    client.write(head('POST', '/echo', { 'Content-Length': '5', Expect: '100-continue' }))
    expect((await client.read()).status).toBe(100)
    client.write('hello')
    const res = await client.read()
    expect(res.status).toBe(200)
    expect(res.text).toBe('echo:hello')
    client.destroy()
  })

  it('an expectation other than 100-continue → 417 JSON, the handler is not called', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await send(port, head('POST', '/echo', { 'Content-Length': '0', Expect: 'teapot' }))
    expect(res.status).toBe(417)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(engine.stats().jsCalls).toBe(0)
  })
})
