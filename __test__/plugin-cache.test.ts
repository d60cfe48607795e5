// CachePlugin: route replies cached in Rust (a hit never enters JS),
// engine.handler() results cached by arguments, module options, clear(),
// key functions, the memory bounds, and Redis shared by two engines.
import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest'
import { Testing, RoutePlugin, Route, HttpResponse, ModuleConfigValidationError, PluginPriority } from '../index.js'
import { CachePlugin, Cache, MemoryCacheAdapter, RedisCacheAdapter } from '../lib/plugins/cache.js'
import { listen } from './helpers/http'
import { freePort, redisMissing, startRedis, type TestServer as RedisServer } from './helpers/servers'

type Ctx = any
const engines: any[] = []

function setup(cache: any = new CachePlugin(), extra: any[] = []) {
  const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), cache, ...extra] })
  engines.push(engine)
  return { Module, engine, cache }
}

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

/** A TypeScript layer outside the cache (BUSINESS runs before PERFORMANCE): the cache then runs from the JS chain. */
function outerLayer(seen: string[]) {
  return {
    name: 'outer',
    priority: PluginPriority.BUSINESS,
    onHandlerLoad(hs: any[]) {
      for (const h of hs) if (h.type === 'route') h.wrap(async (next: any) => (seen.push('outer'), next()))
    },
  }
}

describe('CachePlugin on routes', () => {
  it('answers a repeated GET from Rust: X-Cache HIT, Age, and no JS call', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('users')
    class Users {
      @Cache({ ttl: 60_000 })
      @Route({ path: '/users/:id' })
      get(ctx: Ctx) {
        calls++
        return { id: ctx.req.param('id'), calls }
      }
    }
    const first = await engine.request('/users/1')
    expect(first.headers.get('x-cache')).toBe('MISS')
    expect(first.headers.get('age')).toBeNull()
    const js = engine.stats().jsCalls
    const second = await engine.request('/users/1')
    expect(second.status).toBe(200)
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.headers.get('age')).toBe('0')
    expect(second.headers.get('content-type')).toMatch(/application\/json/)
    expect(await second.json()).toEqual({ id: '1', calls: 1 })
    expect(engine.stats().jsCalls).toBe(js)
    // Another path (or query) is another entry.
    expect((await engine.request('/users/2')).headers.get('x-cache')).toBe('MISS')
    expect((await engine.request('/users/1?x=1')).headers.get('x-cache')).toBe('MISS')
    expect(calls).toBe(3)
    expect(Users).toBeDefined()
  })

  it('serves hits over a real socket without entering JS, HEAD included', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('pages')
    class Pages {
      @Cache()
      @Route({ path: '/page' })
      page() {
        calls++
        return `page ${calls}`
      }
    }
    const { base } = await listen(engine)
    const a = await fetch(`${base}/page`)
    expect([a.headers.get('x-cache'), await a.text()]).toEqual(['MISS', 'page 1'])
    const js = engine.stats().jsCalls
    const b = await fetch(`${base}/page`)
    expect([b.headers.get('x-cache'), await b.text()]).toEqual(['HIT', 'page 1'])
    const h = await fetch(`${base}/page`, { method: 'HEAD' })
    expect([h.status, h.headers.get('x-cache'), h.headers.get('content-length')]).toEqual([200, 'HIT', '6'])
    expect(engine.stats().jsCalls).toBe(js)
    expect(calls).toBe(1)
    expect(Pages).toBeDefined()
  })

  it('does not store replies that say no-store, and skips the cache for a client no-cache', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('cc')
    class CC {
      @Cache()
      @Route({ path: '/private' })
      priv(ctx: Ctx) {
        calls++
        return ctx.json({ calls }, 200, { 'cache-control': 'private, no-store' })
      }

      @Cache()
      @Route({ path: '/public' })
      pub() {
        calls++
        return { calls }
      }
    }
    await engine.request('/private')
    const again = await engine.request('/private')
    expect(again.headers.get('x-cache')).toBe('MISS')
    expect(calls).toBe(2)
    await engine.request('/public')
    const fresh = await engine.request('/public', { headers: { 'cache-control': 'no-cache' } })
    expect([fresh.headers.get('x-cache'), calls]).toEqual(['MISS', 4])
    // The fresh reply replaced the entry.
    expect(await (await engine.request('/public')).json()).toEqual({ calls: 4 })
    expect(CC).toBeDefined()
  })

  it('leaves other methods alone and does not cache errors', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('w')
    class W {
      @Cache()
      @Route({ path: '/thing', method: ['GET', 'POST'] })
      thing(ctx: Ctx) {
        calls++
        if (ctx.req.query('fail')) throw new Error('nope')
        return { calls }
      }
    }
    const post = await engine.request('/thing', { method: 'POST' })
    expect(post.headers.get('x-cache')).toBeNull()
    await engine.request('/thing', { method: 'POST' })
    expect(calls).toBe(2)
    expect((await engine.request('/thing?fail=1')).status).toBe(500)
    expect((await engine.request('/thing?fail=1')).status).toBe(500)
    expect(calls).toBe(4)
    expect(W).toBeDefined()
  })

  it('still caches when a TypeScript layer sits outside it (the layer then runs from JS)', async () => {
    const seen: string[] = []
    const { Module, engine } = setup(new CachePlugin(), [outerLayer(seen)])
    let calls = 0
    @Module('o')
    class O {
      @Cache()
      @Route({ path: '/o' })
      o() {
        calls++
        return { calls }
      }
    }
    await engine.request('/o')
    const hit = await engine.request('/o')
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(await hit.json()).toEqual({ calls: 1 })
    expect(seen).toEqual(['outer', 'outer'])
    expect(O).toBeDefined()
  })

  it('keeps at most maxEntries entries (oldest evicted)', async () => {
    const { Module, engine } = setup(new CachePlugin(new MemoryCacheAdapter({ maxEntries: 2 })))
    @Module('b')
    class B {
      @Cache()
      @Route({ path: '/b/:n' })
      b(ctx: Ctx) {
        return ctx.req.param('n')
      }
    }
    for (const n of [1, 2, 3]) await engine.request(`/b/${n}`)
    expect((await engine.request('/b/3')).headers.get('x-cache')).toBe('HIT')
    expect((await engine.request('/b/1')).headers.get('x-cache')).toBe('MISS')
    expect(B).toBeDefined()
  })
})

describe('CachePlugin on engine.handler() calls', () => {
  it('caches results by arguments (object key order does not matter)', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('math')
    class MathModule {
      @Cache()
      add(a: any, b: number) {
        calls++
        return { sum: (typeof a === 'object' ? a.x + a.y : a) + b }
      }
    }
    const add = engine.handler(MathModule, 'add')
    expect(await add(1, 2)).toEqual({ sum: 3 })
    expect(await add(1, 2)).toEqual({ sum: 3 })
    expect(calls).toBe(1)
    expect(await add(2, 1)).toEqual({ sum: 3 })
    expect(calls).toBe(2)
    await add({ x: 1, y: 2 }, 0)
    await add({ y: 2, x: 1 }, 0)
    expect(calls).toBe(3)
    // The instance method is the same chain.
    await engine.get(MathModule).add(1, 2)
    expect(calls).toBe(3)
  })

  it('runs every call when enabled is false (on the method or the module)', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('off')
    class Off {
      @Cache({ enabled: false })
      @Route({ path: '/off' })
      off() {
        calls++
        return { calls }
      }
    }
    @Module('alsoOff', { cacheEnabled: false })
    class AlsoOff {
      @Cache()
      also() {
        return ++calls
      }

      @Cache({ enabled: true })
      on() {
        return ++calls
      }
    }
    await engine.handler(Off, 'off')()
    await engine.handler(Off, 'off')()
    const r = await engine.request('/off')
    expect(r.headers.get('x-cache')).toBeNull()
    expect(calls).toBe(3)
    await engine.handler(AlsoOff, 'also')()
    await engine.handler(AlsoOff, 'also')()
    expect(calls).toBe(5)
    await engine.handler(AlsoOff, 'on')()
    await engine.handler(AlsoOff, 'on')()
    expect(calls).toBe(6)
  })

  it('uses a key function: the key is the hash of what it returns', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('k')
    class K {
      @Cache({ key: (id: number) => ({ id }) })
      find(id: number, verbose: boolean) {
        calls++
        return { id, verbose }
      }

      @Cache({ key: async (id: number) => id })
      findAsync(id: number, verbose: boolean) {
        calls++
        return { id, verbose }
      }

      @Cache({ key: (ctx: Ctx) => ctx.req.param('id') })
      @Route({ path: '/items/:id' })
      item(ctx: Ctx) {
        calls++
        return { id: ctx.req.param('id'), q: ctx.req.query('q') ?? null }
      }
    }
    expect(await engine.handler(K, 'find')(1, true)).toEqual({ id: 1, verbose: true })
    expect(await engine.handler(K, 'find')(1, false)).toEqual({ id: 1, verbose: true })
    expect(calls).toBe(1)
    await engine.handler(K, 'find')(2, false)
    expect(calls).toBe(2)
    // An async key function is awaited (not keyed as an empty object).
    await engine.handler(K, 'findAsync')(1, true)
    await engine.handler(K, 'findAsync')(1, false)
    await engine.handler(K, 'findAsync')(2, false)
    expect(calls).toBe(4)
    // On a route the key function gets ctx (the lookup runs in JS).
    expect(await (await engine.request('/items/7?q=a')).json()).toEqual({ id: '7', q: 'a' })
    expect(await (await engine.request('/items/7?q=b')).json()).toEqual({ id: '7', q: 'a' })
    expect(calls).toBe(5)
  })

  it('does not cache undefined or HttpResponse results, and passes key function errors on', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('n')
    class N {
      @Cache()
      nothing() {
        calls++
      }

      @Cache()
      response() {
        calls++
        return new HttpResponse('x', 200, {})
      }

      @Cache({
        key: () => {
          throw new Error('bad key')
        },
      })
      broken() {
        return 1
      }
    }
    await engine.handler(N, 'nothing')()
    await engine.handler(N, 'nothing')()
    await engine.handler(N, 'response')()
    await engine.handler(N, 'response')()
    expect(calls).toBe(4)
    await expect(engine.handler(N, 'broken')()).rejects.toThrow('bad key')
  })

  it('clear() empties the store, routes and method results alike', async () => {
    const { Module, engine, cache } = setup()
    await cache.clear() // before the engine loaded: nothing to do
    let calls = 0
    @Module('c')
    class C {
      @Cache()
      @Route({ path: '/c' })
      c() {
        return ++calls
      }
    }
    await engine.request('/c')
    await engine.handler(C, 'c')()
    expect((await engine.request('/c')).headers.get('x-cache')).toBe('HIT')
    await engine.handler(C, 'c')()
    expect(calls).toBe(2)
    await cache.clear()
    expect((await engine.request('/c')).headers.get('x-cache')).toBe('MISS')
    await engine.handler(C, 'c')()
    expect(calls).toBe(4)
  })
})

describe('CachePlugin options', () => {
  it('validates cacheDefaultTtl (negative → ModuleConfigValidationError)', async () => {
    const { Module, engine } = setup()
    @Module('bad', { cacheDefaultTtl: -1 })
    class Bad {
      @Cache()
      m() {}
    }
    let err: any
    try {
      engine.getModules()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ModuleConfigValidationError)
    expect(err.pluginName).toBe('cache-plugin')
    expect(err.reason).toBe('cacheDefaultTtl must be >= 0')
    expect(Bad).toBeDefined()
  })

  it('takes the ttl from cacheDefaultTtl unless @Cache sets one (0 stores nothing)', async () => {
    const { Module, engine } = setup()
    let calls = 0
    @Module('ttl', { cacheDefaultTtl: 0 })
    class T {
      @Cache()
      byModule() {
        return ++calls
      }

      @Cache({ ttl: 60_000 })
      own() {
        return ++calls
      }
    }
    await engine.handler(T, 'byModule')()
    await engine.handler(T, 'byModule')()
    expect(calls).toBe(2)
    await engine.handler(T, 'own')()
    await engine.handler(T, 'own')()
    expect(calls).toBe(3)
  })

  it('checks its arguments eagerly', () => {
    expect(() => new CachePlugin({ get() {}, set() {} } as any)).toThrow(/MemoryCacheAdapter or a RedisCacheAdapter/)
    expect(() => new RedisCacheAdapter({ client: {} } as any)).toThrow(/url/)
    expect(() => new RedisCacheAdapter({ url: 'rediss://h:6380' })).toThrow(/TLS/)
    expect(() => new RedisCacheAdapter({ url: 'redis://h', prefix: '' })).toThrow(/prefix/)
    expect(() => new MemoryCacheAdapter({ maxEntries: -1 })).toThrow(/maxEntries/)
    expect(() => Cache({ ttl: -5 })).toThrow(/ttl/)
    expect(() => Cache({ key: 'id' as any })).toThrow(/key/)
    const p = new CachePlugin()
    expect([p.name, p.priority]).toEqual(['cache-plugin', 400])
    expect(new RedisCacheAdapter({ url: 'redis://h', keyPrefix: 'app:' }).prefix).toBe('app:')
  })

  it('works without the cache when Redis is unreachable', async () => {
    const port = await freePort()
    const cache = new CachePlugin(new RedisCacheAdapter({ url: `redis://127.0.0.1:${port}`, timeoutMs: 200 }))
    const { Module, engine } = setup(cache)
    let calls = 0
    @Module('down')
    class Down {
      @Cache()
      @Route({ path: '/down' })
      down() {
        return { calls: ++calls }
      }
    }
    const warn = console.warn
    const warnings: string[] = []
    console.warn = (m: string) => warnings.push(m)
    try {
      await listen(engine)
    } finally {
      console.warn = warn
    }
    expect(warnings.join()).toMatch(/Redis is unreachable/)
    const a = await engine.request('/down')
    const b = await engine.request('/down')
    expect([a.status, b.status, a.headers.get('x-cache'), b.headers.get('x-cache')]).toEqual([200, 200, 'MISS', 'MISS'])
    expect(await engine.handler(Down, 'down')()).toEqual({ calls: 3 })
  })

  it('waits for its Redis lookup from the JS chain too: with Redis unreachable, each request is a miss, not an error', async () => {
    const port = await freePort()
    const cache = new CachePlugin(new RedisCacheAdapter({ url: `redis://127.0.0.1:${port}`, timeoutMs: 200 }))
    const seen: string[] = []
    const { Module, engine } = setup(cache, [outerLayer(seen)])
    let calls = 0
    @Module('downjs')
    class DownJs {
      @Cache()
      @Route({ path: '/down-js' })
      down() {
        return { calls: ++calls }
      }
    }
    const warn = console.warn
    const warnings: string[] = []
    console.warn = (m: string) => warnings.push(m)
    let a: Response, b: Response
    try {
      a = await engine.request('/down-js')
      b = await engine.request('/down-js')
    } finally {
      console.warn = warn
    }
    expect(warnings.join()).toMatch(/Redis is unreachable/)
    expect([a.status, b.status, a.headers.get('x-cache'), b.headers.get('x-cache')]).toEqual([200, 200, 'MISS', 'MISS'])
    expect(await b.json()).toEqual({ calls: 2 })
    expect(seen).toEqual(['outer', 'outer'])
    expect(DownJs).toBeDefined()
  })
})

const missing = redisMissing()
if (missing) console.log(`[plugin-cache] skipping the Redis tests: ${missing}`)

;(missing ? describe.skip : describe)('CachePlugin with Redis', () => {
  let redis: RedisServer
  let n = 0
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  /** Two engines, each with its own CachePlugin on the same Redis and prefix, and a shared call counter. */
  function twoEngines() {
    const prefix = `test${++n}:`
    const counter = { calls: 0 }
    const make = () => {
      const cache = new CachePlugin(new RedisCacheAdapter({ url: redis.url, prefix }))
      const { Module, engine } = setup(cache)
      @Module('users')
      class Users {
        @Cache({ ttl: 60_000 })
        @Route({ path: '/users/:id' })
        get(ctx: Ctx) {
          return { id: ctx.req.param('id'), call: ++counter.calls }
        }

        @Cache()
        lookup(id: number) {
          return { id, call: ++counter.calls }
        }
      }
      return { engine, cache, Users }
    }
    return { a: make(), b: make(), counter }
  }

  it('shares route replies between two engines (the second never enters JS)', async () => {
    const { a, b, counter } = twoEngines()
    const first = await a.engine.request('/users/1')
    expect(first.headers.get('x-cache')).toBe('MISS')
    await a.cache.flush()
    const other = await b.engine.request('/users/1')
    expect(other.headers.get('x-cache')).toBe('HIT')
    expect(await other.json()).toEqual({ id: '1', call: 1 })
    expect(b.engine.stats().jsCalls).toBe(0)
    expect(counter.calls).toBe(1)
  })

  it('answers hits from Redis when a TypeScript layer sits outside it (the JS chain awaits the lookup)', async () => {
    const seen: string[] = []
    const cache = new CachePlugin(new RedisCacheAdapter({ url: redis.url, prefix: `js-chain${++n}:` }))
    const { Module, engine } = setup(cache, [outerLayer(seen)])
    let calls = 0
    @Module('chained')
    class Chained {
      @Cache({ ttl: 60_000 })
      @Route({ path: '/chained/:id' })
      get(ctx: Ctx) {
        return { id: ctx.req.param('id'), call: ++calls }
      }
    }
    const first = await engine.request('/chained/1')
    expect(first.headers.get('x-cache')).toBe('MISS')
    await cache.flush()
    const second = await engine.request('/chained/1')
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(await second.json()).toEqual({ id: '1', call: 1 })
    expect(calls).toBe(1)
    // The outer TypeScript layer ran both times: the cache answered from inside it.
    expect(seen).toEqual(['outer', 'outer'])
    expect(Chained).toBeDefined()
  })

  it('shares engine.handler() results and clear() reaches every engine', async () => {
    const { a, b, counter } = twoEngines()
    expect(await a.engine.handler(a.Users, 'lookup')(7)).toEqual({ id: 7, call: 1 })
    expect(await b.engine.handler(b.Users, 'lookup')(7)).toEqual({ id: 7, call: 1 })
    expect(counter.calls).toBe(1)
    await b.cache.clear()
    expect(await a.engine.handler(a.Users, 'lookup')(7)).toEqual({ id: 7, call: 2 })
  })

  it('keeps entries of another prefix apart', async () => {
    const one = twoEngines()
    const two = twoEngines()
    await one.a.engine.handler(one.a.Users, 'lookup')(1)
    await two.a.engine.handler(two.a.Users, 'lookup')(1)
    expect([one.counter.calls, two.counter.calls]).toEqual([1, 1])
    await two.a.cache.clear()
    await one.b.engine.handler(one.b.Users, 'lookup')(1)
    expect(one.counter.calls).toBe(1)
  })
})
