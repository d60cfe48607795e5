// DynamicConfigPlugin / @Config: store > environment > default, read
// synchronously from the fields; a change made on one node (setConfig)
// reaches another engine sharing the store, whose getter sees it and whose
// onChange gets (new, old). In process (two engines in this process), on
// Redis and on NATS KV (servers started here; skipped, with the reason
// printed, when missing). Options and decorator misuse are clear TypeErrors.
import { describe, it, expect, afterEach, afterAll, beforeAll, vi } from 'vitest'
import { z } from 'zod'
import { Testing, DynamicConfigPlugin, Config } from '../index.js'
import { natsMissing, redisMissing, startNats, startRedis, type TestServer } from './helpers/servers'
import { eventually } from './helpers/wait'

const engines: any[] = []
let seq = 0
/** A service name (and local prefix) of its own per test: the local store is process-wide. */
const unique = (what: string) => `${what}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`

afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

/** A promise of the next onChange call, and the calls so far. */
function changes() {
  const calls: [unknown, unknown][] = []
  let waiters: ((v: [unknown, unknown]) => void)[] = []
  return {
    calls,
    onChange: (n: unknown, o: unknown) => {
      calls.push([n, o])
      const w = waiters
      waiters = []
      for (const f of w) f([n, o])
    },
    next: () => new Promise<[unknown, unknown]>((r) => waiters.push(r)),
  }
}

/** A node: an engine named `service` with a config module. */
async function node(service: string, plugin: DynamicConfigPlugin, onChange?: (n: unknown, o: unknown) => void) {
  const { Module, engine } = Testing.createTestEngine({ plugins: [plugin], options: { name: service, version: '1.0.0' } })
  engines.push(engine)
  @Module('limits')
  class Limits {
    @Config({ key: 'MAX_CONNECTIONS', defaultValue: 100, schema: z.number().int().min(1), onChange })
    maxConnections!: number

    @Config({ key: 'feature-flags', defaultValue: { beta: false } })
    flags!: { beta: boolean }
  }
  await engine.start(0)
  return { engine, plugin, limits: engine.get(Limits) }
}

describe('DynamicConfigPlugin in one process', () => {
  it('a change on one engine reaches another sharing the local store: getter and onChange(new, old)', async () => {
    const service = unique('svc')
    const coordinator = { type: 'local' as const, prefix: `${service}:` }
    const a = await node(service, new DynamicConfigPlugin({ coordinator }))
    const seen = changes()
    const b = await node(service, new DynamicConfigPlugin({ coordinator }), seen.onChange)
    expect(b.limits.maxConnections).toBe(100)
    const next = seen.next()
    await a.plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, 250)
    expect(a.limits.maxConnections).toBe(250) // at once on the writer
    expect(await next).toEqual([250, 100])
    expect(b.limits.maxConnections).toBe(250)
    // A delete reaches b too: newValue null, the getter falls back to the default.
    const gone = seen.next()
    await a.plugin.deleteConfig(`${service}/limits/MAX_CONNECTIONS`)
    expect(await gone).toEqual([null, 250])
    expect(b.limits.maxConnections).toBe(100)
  })

  it('useMockEtcd (and no coordinator) is a store of the plugin’s own', async () => {
    const service = unique('svc')
    const a = await node(service, new DynamicConfigPlugin({ useMockEtcd: true }))
    const b = await node(service, new DynamicConfigPlugin())
    await a.plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, 7)
    expect(a.limits.maxConnections).toBe(7)
    expect(b.limits.maxConnections).toBe(100)
    expect(await b.plugin.getConfig(`${service}/limits/MAX_CONNECTIONS`)).toBe(100)
  })

  it('store > environment (key in UPPER_SNAKE_CASE, JSON-parsed) > default; the initial value is written to the store', async () => {
    const service = unique('svc')
    vi.stubEnv('FEATURE_FLAGS', '{"beta":true}')
    const { plugin, limits } = await node(service, new DynamicConfigPlugin({ useMockEtcd: true }))
    expect(limits.flags).toEqual({ beta: true })
    const all = await plugin.getAllConfigs(`${service}/limits`)
    expect(all.get(`${service}/limits/feature-flags`)).toEqual({ beta: true })
    expect(all.get(`${service}/limits/MAX_CONNECTIONS`)).toBe(100)
    await plugin.setConfig(`${service}/limits/feature-flags`, { beta: false })
    expect(limits.flags).toEqual({ beta: false })
    await plugin.deleteConfig(`${service}/limits/feature-flags`)
    expect(limits.flags).toEqual({ beta: true })
    vi.unstubAllEnvs()
    expect(limits.flags).toEqual({ beta: false })
    expect(await plugin.getConfig(`${service}/limits/feature-flags`)).toBeNull()
  })

  it('a value failing the schema is refused by setConfig, and ignored when another node wrote it', async () => {
    const service = unique('svc')
    const coordinator = { type: 'local' as const, prefix: `${service}:` }
    const seenByField = changes()
    const { plugin, limits } = await node(service, new DynamicConfigPlugin({ coordinator }), seenByField.onChange)
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    await expect(plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, -5)).rejects.toThrow(/MAX_CONNECTIONS.*does not match its schema/)
    expect(limits.maxConnections).toBe(100)
    // A plugin without the field (another service's code) writes it anyway.
    const other = new DynamicConfigPlugin({ coordinator })
    const seen = new Promise((r) => plugin.watchConfig(`${service}/limits/MAX_CONNECTIONS`, r))
    await other.setConfig(`${service}/limits/MAX_CONNECTIONS`, 'lots')
    await seen
    expect(limits.maxConnections).toBe(100)
    expect(errors.mock.calls.some((c) => String(c[0]).includes('does not match its schema'))).toBe(true)
    // Nor does the field's onChange hear of it; a valid value after it, it does.
    const next = seenByField.next()
    await other.setConfig(`${service}/limits/MAX_CONNECTIONS`, 5)
    expect(await next).toEqual([5, 'lots'])
    expect(seenByField.calls).toEqual([[5, 'lots']])
  })

  it('values are EJSON: a Date survives the store', async () => {
    const service = unique('svc')
    const { plugin } = await node(service, new DynamicConfigPlugin({ useMockEtcd: true }))
    const when = new Date('2026-01-02T03:04:05Z')
    await plugin.setConfig(`${service}/x/when`, { when })
    const back = await plugin.getConfig(`${service}/x/when`)
    expect(back.when).toBeInstanceOf(Date)
    expect(back.when.getTime()).toBe(when.getTime())
  })

  it('sensitive values are masked in the change log; a throwing onChange is logged, the value still changes', async () => {
    const service = unique('svc')
    const { Module, engine } = Testing.createTestEngine({
      plugins: [new DynamicConfigPlugin({ useMockEtcd: true })],
      options: { name: service, version: '1.0.0' },
    })
    engines.push(engine)
    let fired!: () => void
    const firedP = new Promise<void>((r) => (fired = r))
    @Module('secrets')
    class Secrets {
      @Config({
        key: 'API_KEY',
        defaultValue: 'default-key',
        sensitive: true,
        onChange: () => {
          fired()
          throw new Error('boom')
        },
      })
      apiKey!: string
    }
    const info = vi.spyOn(console, 'info').mockImplementation(() => {})
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    await engine.start(0)
    const plugin = engine.getPlugins()[0] as DynamicConfigPlugin
    await plugin.setConfig(`${service}/secrets/API_KEY`, 'hunter2')
    await firedP
    await eventually('the onChange error logged', () => errors.mock.calls.some((c) => String(c[0]).includes('onChange of')))
    expect(engine.get(Secrets).apiKey).toBe('hunter2')
    const logged = JSON.stringify(info.mock.calls)
    expect(logged).toContain('***')
    expect(logged).not.toContain('hunter2')
    expect(logged).not.toContain('default-key')
  })

  it('after onDestroy no callback runs, and the store is still usable', async () => {
    const service = unique('svc')
    const seen = changes()
    const { plugin } = await node(service, new DynamicConfigPlugin({ useMockEtcd: true }), seen.onChange)
    await plugin.onDestroy()
    await plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, 3)
    // The change's wake-up would come through the same queue as this probe's.
    const probe = new Promise((r) => plugin.watchConfig(`${service}/limits/MAX_CONNECTIONS`, r))
    await plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, 4)
    await probe
    expect(seen.calls).toEqual([])
    expect(await plugin.getConfig(`${service}/limits/MAX_CONNECTIONS`)).toBe(4)
  })
})

describe('DynamicConfigPlugin options and @Config misuse', () => {
  it('refuses options it cannot honour, naming them', () => {
    expect(() => new DynamicConfigPlugin({ nope: 1 } as any)).toThrow(/unknown option "nope"/)
    expect(() => new DynamicConfigPlugin({ etcdClient: {} } as any)).toThrow(/etcdClient must be an etcd3 client.*no get, put, delete, getAll, watch/)
    expect(() => new DynamicConfigPlugin({ etcdClient: fakeEtcd(), coordinator: { type: 'local' } })).toThrow(/etcdClient or coordinator, not both/)
    expect(() => new DynamicConfigPlugin({ coordinator: { type: 'redis' } } as any)).toThrow(/coordinator.*url is required/)
    expect(() => new DynamicConfigPlugin({ coordinator: { type: 'nats', url: 'nats://127.0.0.1:1', bucket: 'a.b' } })).toThrow(/bucket/)
    expect(() => new DynamicConfigPlugin({ etcdPrefix: '' })).toThrow(/etcdPrefix/)
    expect(() => new DynamicConfigPlugin({ useMockEtcd: true, coordinator: { type: 'local' } })).toThrow(/not both/)
    expect(() => new DynamicConfigPlugin({ enablePersistence: true })).toThrow(/enablePersistence/)
  })

  it('refuses bad @Config options and non-field targets', () => {
    expect(() => Config({} as any)).toThrow(/key must be/)
    expect(() => Config({ key: 'K', nope: 1 } as any)).toThrow(/unknown option "nope"/)
    expect(() => Config({ key: 'K', schema: {} } as any)).toThrow(/zod schema/)
    expect(() => Config({ key: 'K', onChange: 1 } as any)).toThrow(/onChange must be a function/)
    const deco = Config({ key: 'K', defaultValue: 1 }) as any
    expect(() => deco(() => {}, { kind: 'method', name: 'm', static: false, private: false })).toThrow(/public instance field, not a method/)
    expect(() => deco(undefined, { kind: 'field', name: 'f', static: true, private: false })).toThrow(/static field/)
  })

  it('works as a TC39 standard field decorator and as an experimentalDecorators property decorator', async () => {
    const service = unique('svc')
    const { Module, engine } = Testing.createTestEngine({
      plugins: [new DynamicConfigPlugin({ useMockEtcd: true })],
      options: { name: service, version: '1.0.0' },
    })
    engines.push(engine)
    const standard = Config({ key: 'STANDARD', defaultValue: 's' }) as any
    const legacy = Config({ key: 'LEGACY', defaultValue: 'l' }) as any
    const init = standard(undefined, { kind: 'field', name: 'a', static: false, private: false, addInitializer() {} })
    class Both {
      a = init.call(this, undefined)
      b: unknown
    }
    legacy(Both.prototype, 'b')
    Module('both')(Both)
    await engine.start(0)
    const both = engine.get(Both)
    expect([both.a, both.b]).toEqual(['s', 'l'])
  })
})

/** An in-memory etcd with the etcd3 client's methods the plugin uses: one instance is one etcd cluster. */
function fakeEtcd() {
  const data = new Map<string, string>()
  const watchers = new Map<string, Set<{ put?: (kv: any) => void; delete?: (kv: any) => void }>>()
  const emit = (key: string, ev: 'put' | 'delete', kv: any) => {
    for (const w of watchers.get(key) ?? []) queueMicrotask(() => w[ev]?.(kv))
  }
  return {
    get: (k: string) => ({ string: async () => data.get(k) ?? null }),
    put: (k: string) => ({
      value: async (v: string) => {
        data.set(k, v)
        emit(k, 'put', { key: Buffer.from(k), value: Buffer.from(v) })
      },
    }),
    delete: () => ({
      key: async (k: string) => {
        if (data.delete(k)) emit(k, 'delete', { key: Buffer.from(k) })
      },
    }),
    getAll: () => ({ prefix: (p: string) => ({ strings: async () => Object.fromEntries([...data].filter(([k]) => k.startsWith(p))) }) }),
    watch: () => ({
      key: (k: string) => ({
        create: async () => {
          const w: { put?: (kv: any) => void; delete?: (kv: any) => void } = {}
          const set = watchers.get(k) ?? new Set()
          set.add(w)
          watchers.set(k, set)
          return {
            on: (ev: 'put' | 'delete', cb: (kv: any) => void) => {
              w[ev] = cb
            },
            cancel: () => set.delete(w),
          }
        },
      }),
    }),
    data,
  }
}

describe('DynamicConfigPlugin on an etcd client the user brings (nebula’s etcdClient)', () => {
  it('values are EJSON under etcdPrefix; a change on one node reaches the other’s getter and onChange', async () => {
    const etcd = fakeEtcd()
    const service = unique('svc')
    const a = await node(service, new DynamicConfigPlugin({ etcdClient: etcd, etcdPrefix: '/cfg' }))
    const seen = changes()
    const b = await node(service, new DynamicConfigPlugin({ etcdClient: etcd, etcdPrefix: '/cfg' }), seen.onChange)
    expect(etcd.data.get(`/cfg/${service}/limits/MAX_CONNECTIONS`)).toBe('100')
    expect(JSON.parse(etcd.data.get(`/cfg/${service}/limits/feature-flags`) as string)).toEqual({ beta: false })
    let next = seen.next()
    await a.plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, 9)
    expect(await next).toEqual([9, 100])
    expect(b.limits.maxConnections).toBe(9)
    const flags = new Promise((r) => b.plugin.watchConfig(`${service}/limits/feature-flags`, r))
    await a.plugin.setConfig(`${service}/limits/feature-flags`, { beta: true })
    await flags
    expect(b.limits.flags).toEqual({ beta: true })
    next = seen.next()
    await a.plugin.deleteConfig(`${service}/limits/MAX_CONNECTIONS`)
    expect(await next).toEqual([null, 9])
    expect(b.limits.maxConnections).toBe(100)
    expect([...(await b.plugin.getAllConfigs(service)).keys()]).toEqual([`${service}/limits/feature-flags`])
  })
})

describe('DynamicConfigPlugin with a store that does not answer', () => {
  it('start fails within the timeout, naming the key and the backend', async () => {
    const net = await import('node:net')
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const addr = srv.address() as { port: number }
        srv.close(() => resolve(addr.port))
      })
    })
    const service = unique('svc')
    const { Module, engine } = Testing.createTestEngine({
      plugins: [new DynamicConfigPlugin({ coordinator: { type: 'redis', url: `redis://127.0.0.1:${port}`, timeoutMs: 300 } })],
      options: { name: service, version: '1.0.0' },
    })
    engines.push(engine)
    @Module('m')
    class M {
      @Config({ key: 'K', defaultValue: 1 })
      k!: number
    }
    void M
    const started = Date.now()
    await expect(engine.start(0)).rejects.toThrow(new RegExp(`cannot read ${service}/m/K from the config store: redis get`))
    expect(Date.now() - started).toBeLessThan(3000)
  })
})

/** Two nodes on one remote store: a change on a reaches b (getter, onChange), deletes too. */
async function remoteContract(coordinator: any) {
  const service = unique('svc')
  const a = await node(service, new DynamicConfigPlugin({ coordinator }))
  const seen = changes()
  const b = await node(service, new DynamicConfigPlugin({ coordinator }), seen.onChange)
  expect(b.limits.maxConnections).toBe(100)
  let next = seen.next()
  await a.plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, 300)
  expect(await next).toEqual([300, 100])
  expect(b.limits.maxConnections).toBe(300)
  next = seen.next()
  await a.plugin.deleteConfig(`${service}/limits/MAX_CONNECTIONS`)
  expect(await next).toEqual([null, 300])
  expect(b.limits.maxConnections).toBe(100)
  return { service, a, b, seen }
}

describe.skipIf(redisMissing())('DynamicConfigPlugin on Redis', () => {
  let redis: TestServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('a change on one node reaches the other, with the old value', async () => {
    await remoteContract({ type: 'redis', url: redis.url, prefix: `${unique('p')}:` })
  })

  it('a change made while the watch was disconnected is seen once it reconnects', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const { service, a, b } = await remoteContract({ type: 'redis', url: redis.url, prefix: `${unique('p')}:` })
    await redis.stop()
    await redis.start()
    // The store lost everything (no persistence): a writes again once it reconnects.
    await eventually('a write after the restart', async () => {
      await a.plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, 42)
      return true
    })
    await eventually('b sees the value written after the restart', () => b.limits.maxConnections === 42)
  })
})

describe.skipIf(natsMissing())('DynamicConfigPlugin on NATS KV', () => {
  let nats: TestServer
  beforeAll(async () => {
    nats = await startNats()
  })
  afterAll(async () => {
    await nats?.stop()
  })

  it('a change on one node reaches the other, with the old value', async () => {
    await remoteContract({ type: 'nats', url: nats.url, timeoutMs: 3000 })
  })

  it('a change made while the server was away is seen once it is back', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const { service, a, b } = await remoteContract({ type: 'nats', url: nats.url, timeoutMs: 3000, prefix: `${unique('p')}:` })
    await nats.stop()
    await nats.start()
    await eventually('a write after the restart', async () => {
      await a.plugin.setConfig(`${service}/limits/MAX_CONNECTIONS`, 42)
      return true
    })
    await eventually('b sees the value written after the restart', () => b.limits.maxConnections === 42)
  })
})

if (redisMissing()) console.log(`skipping the Redis DynamicConfigPlugin tests: ${redisMissing()}`)
if (natsMissing()) console.log(`skipping the NATS DynamicConfigPlugin tests: ${natsMissing()}`)
