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

  it("an absolute-form target wins over Host: ctx.req.url is on the target's authority", async () => {
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
    client.socket.end(`${head('POST', '/echo', { 'Content-Length': '5' })}hello`)
    const res = await client.read()
    expect(res.text).toBe('echo:hello')
    await client.closed
  })

  it('pipelined requests followed by a shut write side are all answered, in order', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    client.socket.end(head('GET', '/files/1') + head('GET', '/files/2') + head('GET', '/files/3'))
    const names = []
    for (let i = 0; i < 3; i++) names.push(json((await client.read()).text).name)
    expect(names).toEqual(['1', '2', '3'])
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
    client.socket.end(`${head('POST', '/echo', { 'Content-Length': '10' })}abc`)
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

/**
 * Writes `data` on a fresh connection and waits (at most `ms`) for the server
 * to close it; returns the status line of every response received.
 */
async function untilClosed(port: number, data: string, ms = 3000) {
  const client = await RawClient.connect(port)
  try {
    client.write(data)
    let timer: NodeJS.Timeout | undefined
    const closed = await Promise.race([client.closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))])
    clearTimeout(timer)
    const text = client.all.toString('latin1')
    return { closed, statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])), text }
  } finally {
    client.destroy()
  }
}

describe('malformed and hostile heads and bodies: a clear refusal, the connection closed, nothing reaches JS', () => {
  const H = 'Host: test.local\r\n'
  // [attack, bytes sent, the statuses answered]. Every connection must be
  // closed by the server within 3 s. Statuses without a JSON body are the
  // parser's own (hyper answers those before any request exists).
  const cases: [string, string, number[]][] = [
    ['duplicate Content-Length with different values', `POST /echo HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`, [400]],
    ['Content-Length as a list', `POST /echo HTTP/1.1\r\n${H}Content-Length: 3, 4\r\n\r\nabcd`, [400]],
    ['negative Content-Length', `POST /echo HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, [400]],
    ['Content-Length past 2^64', `POST /echo HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n`, [400]],
    ['unknown Transfer-Encoding', `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nabc`, [400]],
    ['chunked not the last transfer coding', `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, [400]],
    ['chunk size that is not hex', `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`, [400]],
    ['chunk size past 2^64', `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n0\r\n\r\n`, [400]],
    ['chunk data without its CRLF', `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n`, [400]],
    ['invalid byte in the method', `G@T /n HTTP/1.1\r\n${H}\r\n`, [400]],
    ['control byte in the target', `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, [400]],
    ['space in the target (request line split)', `GET /a b HTTP/1.1\r\n${H}\r\n`, [400]],
    ['obsolete line folding', `GET /files/a HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`, [400]],
    ['space before the header colon', `GET /files/a HTTP/1.1\r\n${H}X-A : b\r\n\r\n`, [400]],
    ['NUL in a header value', `GET /files/a HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, [400]],
    [
      'header flood beyond maxHeaders (150 headers)',
      `GET /files/a HTTP/1.1\r\n${H}${Array.from({ length: 150 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`,
      [431],
    ],
    ['oversized head (one 500 kB header)', `GET /files/a HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(500_000)}\r\n\r\n`, [431]],
    // Under 64 KiB hyper would take, and in one read hyper takes even 500 kB: the engine's own limit refuses both.
    ['head over 64 KiB in two headers', `GET /files/a HTTP/1.1\r\n${H}X-A: ${'a'.repeat(35_000)}\r\nX-B: ${'b'.repeat(35_000)}\r\n\r\n`, [431]],
    ['oversized target (100 kB)', `GET /${'a'.repeat(100_000)} HTTP/1.1\r\n${H}\r\n`, [414]],
    ['an HTTP/2 preface on the HTTP/1.1 port', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', []],
  ]

  for (const [attack, data, statuses] of cases) {
    it(attack, async () => {
      const { engine } = build()
      const { port } = await listen(engine)
      const res = await untilClosed(port, data)
      expect(res.closed).toBe(true)
      expect(res.statuses).toEqual(statuses)
      expect(engine.stats().jsCalls).toBe(0)
    })
  }

  it('a head over 64 KiB is answered 431 with a JSON body naming the limit', async () => {
    const { engine } = build()
    const { port } = await listen(engine)
    const res = await send(port, `GET /files/a HTTP/1.1\r\n${H}X-A: ${'a'.repeat(70_000)}\r\n\r\n`)
    expect(res.status).toBe(431)
    expect(JSON.parse(res.text).message).toMatch(/larger than the limit of 65536 bytes/)
    expect(engine.stats().jsCalls).toBe(0)
  })

  // Smuggling: a request with both Content-Length and Transfer-Encoding is
  // read as chunked (RFC 9112 §6.1), answered, and the connection closed, so
  // the bytes a front end would have taken for the body never become a
  // second request.
  for (const [attack, data] of [
    [
      'smuggling CL.TE: a request hidden after a chunked body',
      `POST /echo HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /files/smuggled HTTP/1.1\r\n${H}\r\n`,
    ],
    [
      'smuggling TE.CL: a Content-Length longer than the chunked body',
      `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG`,
    ],
  ]) {
    it(attack, async () => {
      const { engine, seen } = build()
      const { port } = await listen(engine)
      const res = await untilClosed(port, data)
      expect(res.closed).toBe(true)
      expect(res.statuses).toEqual([200])
      expect(res.text).toMatch(/echo:$/)
      expect(engine.stats().jsCalls).toBe(1)
      expect(seen).toEqual([])
    })
  }

  it('slowloris: a head trickled one byte every 50 ms is cut off at headerTimeout', async () => {
    const { engine } = build({ headerTimeout: 500 })
    const { port, base } = await listen(engine)
    const client = await RawClient.connect(port)
    const started = Date.now()
    const line = `GET /files/a HTTP/1.1\r\n${H}X-Slow: ${'a'.repeat(200)}`
    let i = 0
    const trickle = setInterval(() => {
      if (i < line.length) client.write(line[i++])
    }, 50)
    try {
      // Others are served meanwhile.
      expect((await fetch(`${base}/files/b`)).status).toBe(200)
      await client.closed
    } finally {
      clearInterval(trickle)
    }
    const elapsed = Date.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(400)
    expect(elapsed).toBeLessThan(3000)
    expect(client.all.toString('latin1')).not.toMatch(/^HTTP\/1\.1 200/)
    expect(engine.stats().jsCalls).toBe(1)
  })
})
