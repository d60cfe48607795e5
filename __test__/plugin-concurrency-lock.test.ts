// ConcurrencyLockPlugin: one call at a time per key (409 for the other, as
// JSON on a route), different keys in parallel, release after a throw, TTL
// expiry of a lock never released, waitMs, and the same across two engines
// sharing Redis (and NATS); a coordinator that is down refuses with 503.
import { describe, it, expect, afterEach, beforeAll, afterAll, vi } from 'vitest'
import { performance } from 'node:perf_hooks'
import { Testing, RoutePlugin, Route, ConcurrencyLockPlugin, ConcurrencyLock, ConcurrencyLockError, HttpError } from '../index.js'
import { natsMissing, redisMissing, startNats, startRedis, type TestServer } from './helpers/servers'

type Ctx = any
const engines: any[] = []

afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

/** A promise and its resolver: a call that holds its lock until the test lets it go. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((r) => (open = r))
  return { open, opened }
}

let seq = 0
/**
 * An engine with a locked route `/work/:id` (key per id unless `key` is given) and
 * `entered`/`release` hooks. Each call waits for the test's gate.
 */
function service(lock: any, opts: { key?: any; timeout?: number; waitMs?: number; module?: string } = {}) {
  const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), lock] })
  engines.push(engine)
  const state = { entered: [] as string[], gates: new Map<string, ReturnType<typeof gate>>(), onEnter: () => {} }
  const key = 'key' in opts ? opts.key : (ctx: Ctx) => `work:${ctx.req.param('id')}`
  @Module(opts.module ?? `svc${++seq}`)
  class Svc {
    @ConcurrencyLock({ key, timeout: opts.timeout, waitMs: opts.waitMs })
    @Route({ path: '/work/:id' })
    async work(ctx: Ctx) {
      const id = ctx.req.param('id')
      state.entered.push(id)
      state.onEnter()
      if (id.startsWith('throw')) throw new HttpError(422, 'refused')
      if (!state.gates.has(id)) state.gates.set(id, gate())
      await state.gates.get(id)!.opened
      return { id }
    }

    @ConcurrencyLock({ key: 'handler-lock' })
    async call(g: Promise<void>, inside?: () => void) {
      inside?.()
      await g
      return 'done'
    }
  }
  /** Resolves once `n` calls have entered the method. */
  const entered = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => state.entered.length >= n && resolve()
      state.onEnter = check
      check()
    })
  const open = (id: string) => {
    if (!state.gates.has(id)) state.gates.set(id, gate())
    state.gates.get(id)!.open()
  }
  return { engine, Svc, state, entered, open }
}

async function expect409(res: Response, key: string) {
  expect(res.status).toBe(409)
  expect(res.headers.get('content-type')).toMatch(/application\/json/)
  expect(await res.json()).toEqual({ error: 'Conflict', message: `the lock ${JSON.stringify(key)} is held by another call` })
}

/** The behaviour every coordinator shares; `two()` makes two engines (nodes) on one coordinator. */
function lockSuite(make: () => any) {
  it('lets one of two concurrent calls with the same key in; the other gets 409 JSON', async () => {
    const a = service(make())
    const b = service(make())
    const first = a.engine.request('/work/1')
    await a.entered(1)
    // Another engine (another node when the coordinator is shared) and the same engine both refuse.
    await expect409(await b.engine.request('/work/1'), 'work:1')
    await expect409(await a.engine.request('/work/1'), 'work:1')
    a.open('1')
    expect(await (await first).json()).toEqual({ id: '1' })
    // Released: the next call goes through.
    b.open('1')
    expect((await b.engine.request('/work/1')).status).toBe(200)
    expect(a.state.entered.length + b.state.entered.length).toBe(2)
  })

  it('runs calls with different keys at the same time', async () => {
    const s = service(make())
    const calls = ['1', '2', '3'].map((id) => s.engine.request(`/work/${id}`))
    // All three are inside the method together (none waits for another's gate).
    await s.entered(3)
    for (const id of ['1', '2', '3']) s.open(id)
    expect((await Promise.all(calls)).map((r) => r.status)).toEqual([200, 200, 200])
  })

  it('releases the lock when the method throws', async () => {
    const s = service(make(), { key: 'one-lock' })
    const res = await s.engine.request('/work/throw-1')
    expect(res.status).toBe(422)
    s.open('2')
    expect((await s.engine.request('/work/2')).status).toBe(200)
  })

  it('frees a lock its holder never released once its timeout (TTL) passes', async () => {
    const s = service(make(), { key: 'ttl-lock', timeout: 300 })
    const stuck = s.engine.request('/work/stuck')
    await s.entered(1)
    await expect409(await s.engine.request('/work/next'), 'ttl-lock')
    // The holder still runs (as if it hung or its node died): the TTL frees the key.
    const since = performance.now()
    s.open('next')
    let res: Response
    for (;;) {
      res = await s.engine.request('/work/next')
      if (res.status !== 409) break
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(res.status).toBe(200)
    expect(performance.now() - since).toBeLessThan(2000)
    s.open('stuck')
    expect((await stuck).status).toBe(200)
  })

  it('waits up to waitMs for the holder to finish', async () => {
    const s = service(make(), { key: 'wait-lock', waitMs: 2000 })
    const first = s.engine.request('/work/1')
    await s.entered(1)
    const second = s.engine.request('/work/2')
    s.open('2')
    const opened = performance.now()
    setTimeout(() => s.open('1'), 100)
    expect((await first).status).toBe(200)
    expect((await second).status).toBe(200)
    expect(performance.now() - opened).toBeGreaterThanOrEqual(95)
    expect(s.state.entered).toEqual(['1', '2'])
  })

  it('rejects an engine.handler() call with ConcurrencyLockError (status 409)', async () => {
    const s = service(make())
    const g = gate()
    let held!: Promise<string>
    await new Promise<void>((inside) => (held = s.engine.handler(s.Svc, 'call')(g.opened, inside)))
    const err = await s.engine
      .handler(
        s.Svc,
        'call',
      )(Promise.resolve())
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConcurrencyLockError)
    expect(err).toBeInstanceOf(HttpError)
    expect(err).toMatchObject({ status: 409, key: 'handler-lock', name: 'ConcurrencyLockError' })
    g.open()
    expect(await held).toBe('done')
    expect(await s.engine.handler(s.Svc, 'call')(Promise.resolve())).toBe('done')
  })
}

describe('ConcurrencyLockPlugin (in process)', () => {
  lockSuite(() => new ConcurrencyLockPlugin())

  it('uses Module.method as the default key, and hashes a key function that returns an object', async () => {
    const { Module, engine } = Testing.createTestEngine({ plugins: [new ConcurrencyLockPlugin()] })
    engines.push(engine)
    const g = gate()
    @Module('billing')
    class Billing {
      @ConcurrencyLock()
      async close(wait: Promise<void>, inside?: () => void) {
        inside?.()
        await wait
      }

      @ConcurrencyLock({ key: (o: { id: number }) => ({ id: o.id }) })
      async invoice(o: { id: number; wait: Promise<void>; inside?: () => void }) {
        o.inside?.()
        await o.wait
      }
    }
    let held!: Promise<void>
    await new Promise<void>((inside) => (held = engine.handler(Billing, 'close')(g.opened, inside)))
    await expect(engine.handler(Billing, 'close')(Promise.resolve())).rejects.toMatchObject({ key: 'billing.close' })
    let inv!: Promise<void>
    await new Promise<void>((inside) => (inv = engine.handler(Billing, 'invoice')({ id: 7, wait: g.opened, inside })))
    const err: any = await engine
      .handler(
        Billing,
        'invoice',
      )({ id: 7, wait: Promise.resolve() })
      .catch((e: unknown) => e)
    expect(err.key).toMatch(/^billing\.invoice:[0-9a-f]{64}$/)
    // Another id is another lock.
    await expect(engine.handler(Billing, 'invoice')({ id: 8, wait: Promise.resolve() })).resolves.toBeUndefined()
    g.open()
    await Promise.all([held, inv])
  })

  it('checks its options (errors name the option)', () => {
    expect(() => ConcurrencyLock({ timeout: 0 })).toThrow(/timeout must be an integer/)
    expect(() => ConcurrencyLock({ waitMs: -1 })).toThrow(/waitMs/)
    expect(() => ConcurrencyLock({ key: 5 } as any)).toThrow(/key must be/)
    expect(() => ConcurrencyLock({ ttl: 5 } as any)).toThrow(/unknown option "ttl"/)
    expect(() => new ConcurrencyLockPlugin({ redis: 'http://x' })).toThrow(/ConcurrencyLockPlugin: coordinator \(redis\): url/)
    expect(() => new ConcurrencyLockPlugin({ redis: 'redis://x', coordinator: { type: 'local' } })).toThrow(/not both/)
    expect(() => new ConcurrencyLockPlugin({ coordinator: { type: 'nats' } } as any)).toThrow(/url is required/)
    const p = new ConcurrencyLockPlugin({ redis: { url: 'redis://127.0.0.1:6379', prefix: 'app:' } })
    expect(p).toMatchObject({ name: 'concurrency-lock-plugin', priority: 500 })
    expect(p.options.coordinator).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'app:' })
  })
})

const noRedis = redisMissing()
if (noRedis) console.log(`[plugin-concurrency-lock] skipping the Redis tests: ${noRedis}`)
;(noRedis ? describe.skip : describe)('ConcurrencyLockPlugin with Redis', () => {
  let redis: TestServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  lockSuite(() => new ConcurrencyLockPlugin({ redis: redis.url }))

  it('refuses calls with 503 while Redis is down, and locks again once it is back', async () => {
    const errors: unknown[] = []
    vi.spyOn(console, 'error').mockImplementation((m: unknown) => void errors.push(m))
    const s = service(new ConcurrencyLockPlugin({ redis: { url: redis.url, timeoutMs: 300 } }))
    await redis.stop()
    try {
      const res = await s.engine.request('/work/1')
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({ error: 'Service Unavailable', message: 'the lock service is unavailable' })
      expect(s.state.entered).toEqual([])
      expect(String(errors[0])).toMatch(/redis acquire "lock:work:1"/)
    } finally {
      await redis.start()
    }
    s.open('1')
    expect((await s.engine.request('/work/1')).status).toBe(200)
  })
})

const noNats = natsMissing()
if (noNats) console.log(`[plugin-concurrency-lock] skipping the NATS tests: ${noNats}`)
;(noNats ? describe.skip : describe)('ConcurrencyLockPlugin with NATS', () => {
  let nats: TestServer
  beforeAll(async () => {
    nats = await startNats()
  })
  afterAll(async () => {
    await nats?.stop()
  })

  lockSuite(() => new ConcurrencyLockPlugin({ coordinator: { type: 'nats', url: nats.url } }))
})
