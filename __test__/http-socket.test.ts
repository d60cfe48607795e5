import { afterEach, describe, expect, it } from 'vitest'
import { Route } from '../index.js'
import { setup, listen, stopAll, deferred, RawClient, canConnect, head, type Ctx } from './helpers/http'

afterEach(stopAll)

function build(options: Record<string, unknown> = {}) {
  const { Module, engine } = setup({ options })
  @Module('m')
  class M {
    @Route({ path: '/n/:n' })
    n(ctx: Ctx) {
      return `n=${ctx.req.param('n')}`
    }
    @Route({ method: 'POST', path: '/echo' })
    async echo(ctx: Ctx) {
      return `echo:${await ctx.req.text()}`
    }
  }
  return engine
}

describe('connections', () => {
  it('serves several requests on one keep-alive connection', async () => {
    const engine = build()
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    for (const n of [1, 2, 3]) {
      client.write(head('GET', `/n/${n}`))
      const res = await client.read()
      expect(res.status).toBe(200)
      expect(res.text).toBe(`n=${n}`)
      expect(res.headers.connection ?? '').not.toMatch(/close/i)
    }
    client.write(head('GET', '/n/last', { Connection: 'close' }))
    expect((await client.read()).text).toBe('n=last')
    await client.closed
    expect(engine.stats().jsCalls).toBe(4)
  })

  it('answers pipelined requests (one write) in order', async () => {
    const { port } = await listen(build())
    const client = await RawClient.connect(port)
    client.write(`${head('POST', '/echo', { 'Content-Length': '5' })}first${head('GET', '/n/2')}${head('GET', '/n/3', { Connection: 'close' })}`)
    const a = await client.read()
    const b = await client.read()
    const c = await client.read()
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200])
    expect([a.text, b.text, c.text]).toEqual(['echo:first', 'n=2', 'n=3'])
    await client.closed
  })

  it('closes a client that never finishes its headers after headerTimeout, serving others meanwhile', async () => {
    const { port, base } = await listen(build({ headerTimeout: 300 }))
    const slow = await RawClient.connect(port)
    const started = Date.now()
    slow.write('GET /n/1 HTTP/1.1\r\nHost: test.local\r\nX-Partial: ')
    // Another client is not held up by the slow one.
    const other = await fetch(`${base}/n/2`)
    expect(await other.text()).toBe('n=2')
    await slow.closed
    const elapsed = Date.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(250)
    expect(elapsed).toBeLessThan(5000)
    // Whatever it sent back (nothing, or an error status), it never served /n/1.
    expect(slow.all.toString('latin1')).not.toMatch(/^HTTP\/1\.1 200/)
  })

  it('holds connections beyond maxConnections until a slot frees up', async () => {
    const { port } = await listen(build({ maxConnections: 1 }))
    const first = await RawClient.connect(port)
    first.write(head('GET', '/n/1'))
    expect((await first.read()).text).toBe('n=1')
    const second = await RawClient.connect(port) // accepted by the kernel backlog only
    second.write(head('GET', '/n/2'))
    // A round trip on the first connection proves the server is running, yet the second waits.
    first.write(head('GET', '/n/1b'))
    expect((await first.read()).text).toBe('n=1b')
    expect(second.received).toBe(0)
    first.destroy()
    const res = await second.read()
    expect(res.text).toBe('n=2')
    second.destroy()
  })
  it('answers 408 when the announced body does not arrive within bodyTimeout', async () => {
    const engine = build({ bodyTimeout: 300 })
    const { port } = await listen(engine)
    const client = await RawClient.connect(port)
    client.write(`${head('POST', '/echo', { 'Content-Length': '10' })}abc`)
    const res = await client.read()
    expect(res.status).toBe(408)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(engine.stats().jsCalls).toBe(0)
    client.destroy()
  })
})

describe('start / stop', () => {
  it('stop() lets an in-flight request finish, then refuses new connections', async () => {
    const entered = deferred()
    const release = deferred<string>()
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/slow' })
      async slow() {
        entered.resolve()
        return await release.promise
      }
    }
    const { port, base } = await listen(engine)
    const pending = fetch(`${base}/slow`)
    await entered.promise
    let stopped = false
    const stopping = engine.stop().then(() => {
      stopped = true
    })
    // Wait until the listener is gone (each probe is one connect attempt).
    for (let i = 0; i < 500 && (await canConnect(port)); i++);
    expect(await canConnect(port)).toBe(false)
    expect(stopped).toBe(false)
    release.resolve('finished after stop')
    const res = await pending
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('finished after stop')
    await stopping
    expect(stopped).toBe(true)
    expect(engine.getPort()).toBe(0)
    expect(await canConnect(port)).toBe(false)
  })

  it('stop() closes idle keep-alive connections instead of waiting for them', async () => {
    const engine = build()
    const { port } = await listen(engine)
    const idle = await RawClient.connect(port)
    idle.write(head('GET', '/n/1'))
    expect((await idle.read()).text).toBe('n=1')
    await engine.stop()
    await idle.closed
    expect(await canConnect(port)).toBe(false)
  })

  it('start() resolves to the real port; a second start() rejects', async () => {
    const engine = build()
    const { port } = await listen(engine)
    expect(port).toBeGreaterThan(0)
    expect(engine.getPort()).toBe(port)
    await expect(engine.start(0)).rejects.toThrow('Engine is already started')
    expect(await canConnect(port)).toBe(true)
  })
})

describe('built-in routes', () => {
  it('GET /_version → {name, version, status: "running"} without calling JS', async () => {
    const { Module, engine } = setup({ options: { name: 'orders', version: '4.5.6' } })
    @Module('m')
    class M {
      @Route({ path: '/x' })
      x() {
        return 'x'
      }
    }
    const { base } = await listen(engine)
    const res = await fetch(`${base}/_version`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ name: 'orders', version: '4.5.6', status: 'running' })
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('GET {prefix}/_version with prefix "/svc"', async () => {
    const { engine } = setup({ options: { name: 'svc', version: '0.0.1', prefix: '/svc' } })
    const { base } = await listen(engine)
    const res = await fetch(`${base}/svc/_version`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ name: 'svc', version: '0.0.1', status: 'running' })
    expect((await fetch(`${base}/_version`)).status).toBe(404)
  })

  it('GET /health answers 200 JSON', async () => {
    const engine = build()
    const { base } = await listen(engine)
    const res = await fetch(`${base}/health`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ status: 'ok' })
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('a route for another method on /health does not hide the built-in GET', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ method: 'POST', path: '/health' })
      h() {
        return 'posted'
      }
    }
    const get = await engine.request('/health')
    expect(get.status).toBe(200)
    expect(await get.json()).toEqual({ status: 'ok' })
    expect(await (await engine.request('/health', { method: 'POST' })).text()).toBe('posted')
  })

  it('a user route on /health wins over the built-in one', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Route({ path: '/health' })
      h() {
        return { status: 'custom' }
      }
    }
    expect(await (await engine.request('/health')).json()).toEqual({ status: 'custom' })
  })
})
