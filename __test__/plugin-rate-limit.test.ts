// RateLimitPlugin: counted and refused in Rust (429 never enters JS),
// RateLimit-* headers, global / module / route limits, keys, validation.
import { createHmac } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { Route, PluginPriority, ModuleConfigValidationError } from '../index.js'
import { RateLimitPlugin } from '../lib/plugins/rate-limit.js'
import { JwtAuthPlugin } from '../lib/plugins/jwt-auth.js'
import { setup, listen, stopAll, type Ctx } from './helpers/http'

afterEach(stopAll)

/** An engine with RateLimitPlugin(options) and a module "api" with a few routes. */
function app(options: Record<string, unknown> = {}, { moduleOptions = {}, plugins = [] as unknown[] } = {}) {
  const { Module, engine } = setup({ plugins: [...plugins, new RateLimitPlugin(options)] })
  @Module('api', moduleOptions)
  class Api {
    @Route({ path: '/a' })
    a() {
      return { ok: 'a' }
    }

    @Route({ path: '/b' })
    b() {
      return 'b'
    }

    @Route({ path: '/own', rateLimitMaxRequests: 1 })
    own() {
      return 'own'
    }

    @Route({ path: '/own2', rateLimitMaxRequests: 1 })
    own2() {
      return 'own2'
    }

    @Route({ path: '/free', rateLimit: false })
    free() {
      return 'free'
    }

    @Route({ path: '/who' })
    who(ctx: Ctx) {
      return { user: ctx.get('user') ?? null }
    }
  }
  return { engine, Module, Api }
}

const status = async (p: Promise<Response>) => (await p).status

describe('limits', () => {
  it('answers 429 with a JSON body and Retry-After once the global limit is used up', async () => {
    const { engine } = app({ maxRequests: 2 })
    expect(await status(engine.request('/a'))).toBe(200)
    expect(await status(engine.request('/b'))).toBe(200)
    const res = await engine.request('/a')
    expect(res.status).toBe(429)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({
      error: 'Too Many Requests',
      message: 'rate limit exceeded: 2 requests per 60000 ms',
    })
    // 2 per minute: one slot every 30 s.
    expect(res.headers.get('retry-after')).toBe('30')
    expect(res.headers.get('ratelimit-limit')).toBe('2')
    expect(res.headers.get('ratelimit-remaining')).toBe('0')
    expect(res.headers.get('ratelimit-reset')).toBe('30')
  })

  it('puts RateLimit-* headers on successful answers', async () => {
    const { engine } = app({ maxRequests: 4, windowMs: 8000 })
    const first = await engine.request('/a')
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({ ok: 'a' })
    expect(first.headers.get('ratelimit-limit')).toBe('4')
    expect(first.headers.get('ratelimit-remaining')).toBe('3')
    expect(first.headers.get('ratelimit-reset')).toBe('2')
    expect(first.headers.get('retry-after')).toBeNull()
    const second = await engine.request('/b')
    expect(second.headers.get('ratelimit-remaining')).toBe('2')
  })

  it('gives a route with its own limit its own counters', async () => {
    const { engine } = app({ maxRequests: 3 })
    expect(await status(engine.request('/own'))).toBe(200)
    const res = await engine.request('/own')
    expect(res.status).toBe(429)
    expect((await res.json()).message).toBe('rate limit exceeded: 1 requests per 60000 ms')
    expect(res.headers.get('ratelimit-limit')).toBe('1')
    // The global counters were not touched by /own.
    for (let i = 0; i < 3; i++) expect(await status(engine.request('/a'))).toBe(200)
    expect(await status(engine.request('/a'))).toBe(429)
  })

  it('keeps counters apart for routes and modules with equal limits', async () => {
    const { engine, Module } = app({ maxRequests: 1 }, { moduleOptions: { rateLimitMaxRequests: 1 } })
    @Module('api2', { rateLimitMaxRequests: 1 })
    class Api2 {
      @Route({ path: '/api2' })
      api2() {
        return 'api2'
      }

      @Route({ path: '/api2/route', rateLimitMaxRequests: 1 })
      route() {
        return 'route'
      }
    }
    @Module('plain')
    class Plain {
      @Route({ path: '/plain' })
      plain() {
        return 'plain'
      }
    }
    void Api2
    void Plain
    // Every one of these has its own counters, all with 1 per minute.
    for (const path of ['/a', '/own', '/own2', '/api2', '/api2/route', '/plain']) {
      expect([path, await status(engine.request(path))]).toEqual([path, 200])
    }
    for (const path of ['/b', '/own', '/own2', '/api2', '/api2/route', '/plain']) {
      expect([path, await status(engine.request(path))]).toEqual([path, 429])
    }
  })

  it('keeps counters apart for two modules with the same name', async () => {
    const { engine, Module } = app({ maxRequests: 5 })
    @Module('twin', { rateLimitMaxRequests: 1 })
    class First {
      @Route({ path: '/first' })
      first() {
        return 'first'
      }
    }
    @Module('twin', { rateLimitMaxRequests: 1 })
    class Second {
      @Route({ path: '/second' })
      second() {
        return 'second'
      }
    }
    void First
    void Second
    expect(await status(engine.request('/first'))).toBe(200)
    expect(await status(engine.request('/second'))).toBe(200)
    expect(await status(engine.request('/first'))).toBe(429)
  })

  it("shares one set of counters across a module's routes when the module sets a limit", async () => {
    const { engine, Module } = app({ maxRequests: 5 }, { moduleOptions: { rateLimitMaxRequests: 2, rateLimitWindowMs: 1000 } })
    @Module('other')
    class Other {
      @Route({ path: '/other' })
      other() {
        return 'other'
      }
    }
    void Other
    expect(await status(engine.request('/a'))).toBe(200)
    expect(await status(engine.request('/b'))).toBe(200)
    const res = await engine.request('/a')
    expect(res.status).toBe(429)
    expect((await res.json()).message).toBe('rate limit exceeded: 2 requests per 1000 ms')
    // A route with its own limit is not counted with its module.
    expect(await status(engine.request('/own'))).toBe(200)
    // Another module without limits uses the plugin's.
    const other = await engine.request('/other')
    expect(other.status).toBe(200)
    expect(other.headers.get('ratelimit-limit')).toBe('5')
  })

  it('exempts routes with rateLimit: false', async () => {
    const { engine } = app({ maxRequests: 1 })
    for (let i = 0; i < 5; i++) {
      const res = await engine.request('/free')
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-limit')).toBeNull()
    }
    expect(await status(engine.request('/a'))).toBe(200)
    expect(await status(engine.request('/a'))).toBe(429)
  })

  it('frees a slot once its share of the window has passed', async () => {
    const { engine } = app({ maxRequests: 1, windowMs: 60 })
    expect(await status(engine.request('/a'))).toBe(200)
    expect(await status(engine.request('/a'))).toBe(429)
    const refusedAt = Date.now()
    let res: Response
    do res = await engine.request('/a')
    while (res.status === 429 && Date.now() - refusedAt < 5000)
    expect(res.status).toBe(200)
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(30)
  })
})

describe('in Rust', () => {
  it('refuses without entering JavaScript (engine.request)', async () => {
    const { engine } = app({ maxRequests: 1 })
    expect(await status(engine.request('/a'))).toBe(200)
    const calls = engine.stats().jsCalls
    for (let i = 0; i < 3; i++) expect(await status(engine.request('/a'))).toBe(429)
    expect(engine.stats().jsCalls).toBe(calls)
  })

  it('refuses without entering JavaScript (socket)', async () => {
    const { engine } = app({ maxRequests: 1 })
    const { base } = await listen(engine)
    expect((await fetch(`${base}/a`)).status).toBe(200)
    const calls = engine.stats().jsCalls
    const res = await fetch(`${base}/a`)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('60')
    expect(await res.json()).toMatchObject({ error: 'Too Many Requests' })
    expect(engine.stats().jsCalls).toBe(calls)
  })

  it('still limits when it sits inside a TypeScript layer', async () => {
    const seen: number[] = []
    const outer = {
      name: 'outer-ts',
      priority: PluginPriority.SYSTEM,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers) h.wrap(async (next: () => Promise<unknown>) => next())
      },
    }
    const { engine } = app({ maxRequests: 1 }, { plugins: [outer] })
    const first = await engine.request('/a')
    seen.push(first.status)
    expect(first.headers.get('ratelimit-remaining')).toBe('0')
    const second = await engine.request('/a')
    seen.push(second.status)
    expect(second.headers.get('retry-after')).toBe('60')
    expect(seen).toEqual([200, 429])
  })
})

describe('keys', () => {
  it('counts clients apart by a header, and by address without it', async () => {
    const { engine } = app({ maxRequests: 1, key: { header: 'X-Api-Key' } })
    const { base } = await listen(engine)
    const get = (key?: string) => fetch(`${base}/a`, { headers: key ? { 'x-api-key': key } : {} })
    expect((await get('alice')).status).toBe(200)
    expect((await get('alice')).status).toBe(429)
    expect((await get('bob')).status).toBe(200)
    expect((await get()).status).toBe(200)
    expect((await get()).status).toBe(429)
    expect((await get('carol')).status).toBe(200)
  })

  it('counts clients by a JWT claim when the JWT plugin is registered first', async () => {
    const secret = 'rate-limit-test-secret-of-32-bytes!!'
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const token = (sub: string) => {
      const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 600 })}`
      return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`
    }
    const jwt = new JwtAuthPlugin({ algorithm: 'HS256', secret })
    const { engine } = app({ maxRequests: 1, key: { claim: 'sub' } }, { plugins: [jwt] })
    const as = (sub: string) => engine.request('/who', { headers: { authorization: `Bearer ${token(sub)}` } })
    const ok = await as('alice')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ user: { sub: 'alice' } })
    expect(await status(as('alice'))).toBe(429)
    expect(await status(as('bob'))).toBe(200)
  })
})

describe('validation', () => {
  it.each([
    [{ maxRequests: 0 }, /maxRequests/],
    [{ maxRequests: 1.5 }, /maxRequests/],
    [{ maxRequests: '10' }, /maxRequests/],
    [{ windowMs: -1 }, /windowMs/],
    [{ windowMs: 2 ** 32 }, /windowMs/],
    [{ maxRequests: 2_000_000, windowMs: 1 }, /maxRequests/],
    [{ maxKeys: 0 }, /maxKeys/],
    [{ key: 'cookie' }, /key/],
    [{ key: { header: 'bad header' } }, /key\.header/],
    [{ key: { claim: '' } }, /key\.claim/],
    [{ key: { header: 'a', claim: 'b' } }, /key/],
    [{ max: 5 }, /unknown option "max"/],
  ])('throws a TypeError at construction for %j', (options, message) => {
    expect(() => new RateLimitPlugin(options as any)).toThrow(TypeError)
    expect(() => new RateLimitPlugin(options as any)).toThrow(message)
  })

  it('accepts the documented options', () => {
    const p = new RateLimitPlugin({ maxRequests: 10, windowMs: 1000, key: { header: 'X-Api-Key' }, maxKeys: 50 })
    expect(p.name).toBe('rate-limit')
    expect(p.priority).toBe(PluginPriority.SECURITY)
    expect(p.options).toEqual({ maxRequests: 10, windowMs: 1000, key: { header: 'x-api-key' }, maxKeys: 50 })
    expect(new RateLimitPlugin().options).toEqual({ maxRequests: 100, windowMs: 60000, key: 'ip', maxKeys: 100000 })
  })

  it.each([
    [{ rateLimitMaxRequests: 0 }, /rateLimitMaxRequests/],
    [{ rateLimitMaxRequests: 'many' }, /rateLimitMaxRequests/],
    [{ rateLimitWindowMs: 1.5 }, /rateLimitWindowMs/],
  ])('fails module validation for %j', async (moduleOptions, message) => {
    const { engine } = app({}, { moduleOptions })
    const err: any = await engine.request('/a').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModuleConfigValidationError)
    expect(err.pluginName).toBe('rate-limit')
    expect(err.moduleName).toBe('api')
    expect(err.message).toMatch(message)
  })

  it('fails start() for invalid route options, naming the route', async () => {
    const { engine, Module } = app()
    @Module('broken')
    class Broken {
      @Route({ path: '/broken', rateLimit: 'off' })
      broken() {
        return 'x'
      }
    }
    void Broken
    await expect(engine.start(0)).rejects.toThrow(/Plugin rate-limit failed in onHandlerLoad: .*route broken.*rateLimit/)
  })
})
