// CachePlugin's management API as nebula-engine has it: getStats() / delete(key) / clear(),
// over the store in Rust (memory or Redis), route replies included.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Cache, CachePlugin, RedisCacheAdapter, Route, RoutePlugin, Testing } from '../index.js'
import { redisMissing, startRedis, type TestServer } from './helpers/servers'

const KEY = /^[a-z-]+:[A-Za-z]+:[0-9a-f]{64}$/
const engines: { stop(): Promise<void> }[] = []
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop()
})

function setup(cache = new CachePlugin()) {
  const made = Testing.createTestEngine({ plugins: [new RoutePlugin(), cache] })
  engines.push(made.engine)
  return { ...made, cache }
}

describe('CachePlugin.getStats()', () => {
  it('is empty before the engine loaded (no store yet)', async () => {
    expect(await new CachePlugin().getStats()).toEqual({ size: 0, entries: [] })
  })

  it("lists each call's entry as module:method:sha256, with its times (the TTL apart)", async () => {
    const { Module, engine, cache } = setup()
    @Module('user-service')
    class Users {
      @Cache({ ttl: 1000 })
      async getUser(id: number) {
        return { id }
      }
    }
    @Module('order-service', { cacheDefaultTtl: 2500 })
    class Orders {
      @Cache()
      async getOrder(id: number) {
        return { id }
      }
    }
    const before = Date.now()
    await engine.handler(Users, 'getUser')(1)
    await engine.handler(Users, 'getUser')(1)
    await engine.handler(Users, 'getUser')(2)
    await engine.handler(Orders, 'getOrder')(1)
    const stats = await cache.getStats()
    expect(stats.size).toBe(3)
    expect(stats.entries.map((e) => e.key.replace(/:[0-9a-f]{64}$/, ''))).toEqual(['user-service:getUser', 'user-service:getUser', 'order-service:getOrder'])
    for (const e of stats.entries) {
      expect(e.key).toMatch(KEY)
      expect(e.createdAt).toBeGreaterThanOrEqual(before - 1)
      expect(e.createdAt).toBeLessThanOrEqual(Date.now() + 1)
    }
    expect(stats.entries.map((e) => e.expiresAt - e.createdAt)).toEqual([1000, 1000, 2500])
  })

  it("lists a route's cached replies too", async () => {
    const { Module, engine, cache } = setup()
    @Module('pages')
    class Pages {
      @Cache({ ttl: 5000 })
      @Route({ path: '/home' })
      home() {
        return 'home'
      }
    }
    expect((await engine.request('/home')).headers.get('x-cache')).toBe('MISS')
    const stats = await cache.getStats()
    expect(stats.size).toBe(1)
    expect(stats.entries[0].key).toMatch(/^pages:home:/)
    expect(stats.entries[0].expiresAt - stats.entries[0].createdAt).toBe(5000)
  })
})

describe('CachePlugin.delete(key) and clear()', () => {
  it('delete removes the entry getStats named (the next call runs again); clear removes all', async () => {
    const { Module, engine, cache } = setup()
    let calls = 0
    @Module('m')
    class M {
      @Cache({ ttl: 10_000 })
      async get(id: number) {
        calls++
        return { id }
      }
    }
    const get = engine.handler(M, 'get')
    await get(1)
    await get(2)
    const [first] = (await cache.getStats()).entries
    expect(await cache.delete(first.key)).toBe(true)
    expect(await cache.delete(first.key)).toBe(false)
    expect((await cache.getStats()).entries.map((e) => e.key)).not.toContain(first.key)
    await get(1)
    expect(calls).toBe(3)
    await cache.clear()
    expect(await cache.getStats()).toEqual({ size: 0, entries: [] })
  })
})

const missing = redisMissing()
if (missing) console.log(`[compat-cache] skipping the Redis tests: ${missing}`)
;(missing ? describe.skip : describe)('CachePlugin.getStats() with Redis', () => {
  let redis: TestServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it("lists every process's entries under the prefix, not other prefixes'", async () => {
    const a = setup(new CachePlugin(new RedisCacheAdapter({ url: redis.url, prefix: 'stats-a:' })))
    const b = setup(new CachePlugin(new RedisCacheAdapter({ url: redis.url, prefix: 'stats-a:' })))
    const other = setup(new CachePlugin(new RedisCacheAdapter({ url: redis.url, prefix: 'stats-b:' })))
    for (const { Module, engine, cache } of [a, b, other]) {
      @Module('m')
      class M {
        @Cache({ ttl: 60_000 })
        async get(id: number) {
          return { id }
        }
      }
      await engine.handler(M, 'get')(engine === b.engine ? 2 : 1)
      await cache.flush()
    }
    const stats = await a.cache.getStats()
    expect(stats.size).toBe(2)
    expect(stats.entries.every((e) => KEY.test(e.key) && e.expiresAt - e.createdAt === 60_000)).toBe(true)
    expect((await other.cache.getStats()).size).toBe(1)
    await a.cache.clear()
    expect((await b.cache.getStats()).size).toBe(0)
  })
})
