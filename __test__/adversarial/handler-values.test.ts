// Adversarial suite, surface: values user code throws or returns.
// Whatever a handler, wrapper, middleware, hook, stream or hub handler throws
// or returns, the client gets an answer (a 500 JSON error for a failure) and
// the process lives. First the values an adversarial pass crashed the process
// with (each answered over a real socket), then properties over arbitrary
// hostile values (fast-check) through every path a value can take.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { HubPlugin, CorsPlugin, HttpResponse, PluginPriority, Route, RoutePlugin, Schedule, SchedulePlugin, Testing } from '../../index.js'
import { listen, setup, stopAll } from '../helpers/http'
import { connect } from '../helpers/ws'
import { until } from '../helpers/schedule'
import { deliver, fails, hostile, mode, type Mode, type Recipe } from '../helpers/hostile'

/** Scales every property's run count (CI runs the default: ~11 000 cases in all). */
const RUNS = Number(process.env.NEBULA_PROPERTY_RUNS_SCALE ?? 1)
const runs = (n: number) => Math.max(1, Math.round(n * RUNS))

// Anything that escaped to the process: what would have made Node exit.
const escaped: unknown[] = []
const onEscape = (err: unknown) => escaped.push(err)
beforeAll(() => {
  process.on('uncaughtException', onEscape)
  process.on('unhandledRejection', onEscape)
})
afterAll(() => {
  process.off('uncaughtException', onEscape)
  process.off('unhandledRejection', onEscape)
})
beforeEach(() => {
  escaped.length = 0
  // The engine logs every failure it answers; thousands of them would bury the report.
  vi.spyOn(console, 'error').mockImplementation(() => {})
})
afterEach(async () => {
  vi.restoreAllMocks()
  await stopAll()
  // A rejection nobody handled is reported after the microtasks: give it one turn of the loop.
  await new Promise((r) => setImmediate(r))
  expect(escaped.map(describeEscape)).toEqual([])
})

function describeEscape(err: unknown) {
  try {
    return String(err)
  } catch {
    return typeof err
  }
}

/** A module with one GET route per entry of `routes`. */
function routes(Module: any, table: Record<string, (ctx: any) => unknown>) {
  for (const [path, fn] of Object.entries(table)) {
    class R {
      handle(ctx: any) {
        return fn(ctx)
      }
    }
    Module(`m${path.replace(/\W/g, '_')}`)(R)
    Route({ method: 'GET', path })(R.prototype, 'handle', Object.getOwnPropertyDescriptor(R.prototype, 'handle')!)
  }
}

const nullProto = () => Object.create(null)
function revokedProxy() {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/** Each value the adversarial pass crashed Node with, as the handler delivered it. */
const CRASHERS: Record<string, (ctx: any) => unknown> = {
  '/status-getter-throws': () => {
    throw {
      get status() {
        throw new Error('status')
      },
    }
  },
  '/null-proto-sync': () => {
    throw nullProto()
  },
  '/null-proto-async': async () => {
    throw nullProto()
  },
  '/null-proto-after-await': async () => {
    await new Promise((r) => setImmediate(r))
    throw nullProto()
  },
  '/message-getter-throws': () => {
    throw Object.defineProperty(new Error('x'), 'message', {
      get() {
        throw new Error('message')
      },
    })
  },
  '/to-string-throws': () => {
    throw {
      toString() {
        throw new Error('toString')
      },
    }
  },
  '/revoked-proxy': () => {
    throw revokedProxy()
  },
  '/then-getter-throws': () => ({
    get then() {
      throw new Error('then')
    },
  }),
  '/then-getter-throws-null-proto': () => ({
    get then() {
      throw nullProto()
    },
  }),
  '/stream-errors-null-proto': () =>
    new Response(
      new ReadableStream({
        pull(c) {
          c.error(nullProto())
        },
      }),
    ),
  '/status-is-a-throwing-proxy': () =>
    new HttpResponse(
      'x',
      new Proxy(
        {},
        {
          get() {
            throw revokedProxy()
          },
          getPrototypeOf() {
            throw revokedProxy()
          },
        },
      ),
    ),
}

describe('the values that crashed the process: each is a 500 JSON error, and the server goes on', () => {
  it.each(Object.keys(CRASHERS))('GET %s over a socket', async (path) => {
    const { Module, engine } = setup({ options: { handlerTimeout: 3000 } })
    routes(Module, { ...CRASHERS, '/ok': () => ({ ok: true }) })
    const { base } = await listen(engine)
    const res = await fetch(base + path)
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(body.error).toBe('Internal server error')
    expect(typeof body.message).toBe('string')
    expect(body.message).not.toMatch(/\n\s+at /) // no stack trace
    expect((await fetch(`${base}/ok`)).status).toBe(200)
  })

  it('a hub handler that throws them answers 1003 to each, and the connection goes on', async () => {
    const plugin = new HubPlugin({ allowAnonymous: true })
    const { engine } = setup({ plugins: [plugin] })
    const names = Object.keys(CRASHERS).filter((p) => !p.startsWith('/stream') && !p.startsWith('/status-is'))
    for (const name of names) engine.hub.on(name.slice(1), (_c: any) => CRASHERS[name](undefined))
    const { port } = await listen(engine)
    const c = await connect(`ws://127.0.0.1:${port}/ws`)
    for (const name of names) {
      const answer = await c.request(name.slice(1), {})
      expect([name, answer.data.code]).toEqual([name, 1003])
    }
    expect((await c.request('ping', {})).message_type).toBe('pong')
    await c.close()
  })

  it('a lifecycle hook that throws a null-prototype object fails start() with a clear error', async () => {
    for (const hook of ['onInit', 'onModuleLoad', 'onHandlerLoad', 'onBeforeStart', 'onAfterStart']) {
      const plugin = {
        name: 'hostile-hooks',
        [hook]() {
          throw nullProto()
        },
      }
      const { engine } = setup({ plugins: [plugin] })
      await expect(engine.start(0)).rejects.toThrow(`Plugin hostile-hooks failed in ${hook}: `)
    }
  })

  it('onDestroy that throws what console.error cannot print: stop() still resolves', async () => {
    // A console that formats its arguments, as the real one does.
    vi.spyOn(console, 'error').mockImplementation((...args) => void inspect(args))
    const { engine } = setup({
      plugins: [
        {
          name: 'hostile-destroy',
          onDestroy() {
            throw {
              get [Symbol.toStringTag]() {
                throw new Error('tag')
              },
            }
          },
        },
      ],
    })
    await listen(engine)
    await expect(engine.stop()).resolves.toBeUndefined()
  })
})

describe('a scheduled job that throws them', () => {
  it('counts each failure with a message, and the job keeps its schedule', async () => {
    const plugin = new SchedulePlugin({ leaseTtlMs: 300 })
    const { Module, engine } = setup({ plugins: [plugin] })
    const throwers = [CRASHERS['/null-proto-sync'], CRASHERS['/revoked-proxy'], CRASHERS['/message-getter-throws'], CRASHERS['/to-string-throws']]
    let n = 0
    @Module('hostile-jobs')
    class Jobs {
      @Schedule({ interval: 15, name: 'hostile-job' })
      fail() {
        throwers[n++ % throwers.length](undefined)
      }
    }
    await engine.start(0)
    await until(() => plugin.jobs()[0].errors >= 8, 5000, 'eight failed runs')
    const [job] = plugin.jobs()
    expect(typeof job.lastError).toBe('string')
    expect(Jobs).toBeDefined()
  })
})

// ---- properties -------------------------------------------------------------

/** What a test run sets before each request: the handler delivers it. */
let current: { mode: Mode; value: Recipe } | undefined
const run = () => deliver(current!.mode, current!.value)

async function expectAnswer(res: Response, m: Mode) {
  expect(res.status).toBeGreaterThanOrEqual(100)
  expect(res.status).toBeLessThanOrEqual(599)
  const text = await res.text()
  if (fails(m) || m === 'stream-error') expect(res.status).toBeGreaterThanOrEqual(400)
  if (res.status >= 500) {
    const body = JSON.parse(text)
    expect(typeof body.error).toBe('string')
    expect(typeof body.message).toBe('string')
  }
}

function property(arb: fc.Arbitrary<[Mode, Recipe]>, check: (m: Mode, r: Recipe) => Promise<void>, numRuns: number) {
  return fc.assert(
    fc.asyncProperty(arb, async ([m, r]) => {
      current = { mode: m, value: r }
      await check(m, r)
      expect(escaped.map(describeEscape)).toEqual([])
    }),
    { numRuns, endOnFailure: true },
  )
}

const anyCase = fc.tuple(mode, hostile)
const failOrValue = fc.tuple(fc.constantFrom<Mode>('throw', 'return', 'reject', 'throw-after-await', 'return-after-await'), hostile)

describe('property: whatever a handler throws or returns, the client gets an answer and the process lives', () => {
  it('a route called by engine.request() (the handler answered without a promise when it can)', async () => {
    const { Module, engine } = setup({ options: { handlerTimeout: 5000 } })
    routes(Module, { '/p': run })
    await property(anyCase, async (m) => expectAnswer(await engine.request('/p'), m), runs(4000))
  }, 120_000)

  it('a route over a socket', async () => {
    const { Module, engine } = setup({ options: { handlerTimeout: 5000 } })
    routes(Module, { '/p': run })
    const { base } = await listen(engine)
    await property(anyCase, async (m) => expectAnswer(await fetch(`${base}/p`), m), runs(400))
  }, 120_000)

  it('a JS wrapper (handler.wrap) delivers the value instead of calling next(), or around a handler that does', async () => {
    const wrapper = {
      name: 'hostile-wrapper',
      priority: PluginPriority.BUSINESS,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers) h.wrap((next: () => unknown) => (current!.value.label.length % 2 === 0 ? run() : next()))
      },
    }
    const { Module, engine } = setup({ plugins: [wrapper], options: { handlerTimeout: 5000 } })
    routes(Module, { '/p': run })
    await property(anyCase, async (m) => expectAnswer(await engine.request('/p'), m), runs(1500))
  }, 120_000)

  it('a native layer run from the JS chain (a JS wrapper outside CorsPlugin)', async () => {
    const outer = {
      name: 'outer-js',
      priority: PluginPriority.SYSTEM,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers) h.wrap((next: () => unknown) => next())
      },
    }
    const { Module, engine } = setup({ plugins: [outer, new CorsPlugin({ origins: '*' })], options: { handlerTimeout: 5000 } })
    routes(Module, { '/p': run })
    await property(anyCase, async (m) => expectAnswer(await engine.request('/p', { headers: { origin: 'http://a.example' } }), m), runs(800))
  }, 120_000)

  it('a middleware, and an errorTransformer, deliver the value', async () => {
    const { Module, engine } = Testing.createTestEngine({
      plugins: [
        new RoutePlugin({
          globalMiddlewares: [(_ctx: any, next: () => unknown) => (current!.value.label.length % 3 === 0 ? run() : next())],
          errorTransformer: () => (current!.value.label.length % 3 === 1 ? run() : undefined),
        }),
      ],
      options: { name: 'property', version: '1.0.0', handlerTimeout: 5000 },
    })
    try {
      routes(Module, { '/p': run })
      await property(
        anyCase,
        async (m) => {
          const res = await engine.request('/p')
          // An errorTransformer may turn a failure into any answer.
          await expectAnswer(res, current!.value.label.length % 3 === 1 ? 'return' : m)
        },
        runs(1500),
      )
    } finally {
      await engine.stop()
    }
  }, 120_000)

  it('engine.handler(): the call settles, a failure with exactly what was thrown', async () => {
    const { Module, engine } = setup()
    class Direct {
      m() {
        return run()
      }
    }
    Module('direct')(Direct)
    const call = engine.handler(Direct, 'm')
    const HUNG = Symbol('hung')
    await property(
      anyCase,
      async (m) => {
        let timer: NodeJS.Timeout | undefined
        const thrown = await Promise.race([
          call().then(
            () => undefined,
            (err: unknown) => ({ err }),
          ),
          new Promise<typeof HUNG>((resolve) => {
            timer = setTimeout(() => resolve(HUNG), 2000)
          }),
        ])
        clearTimeout(timer)
        if (thrown === HUNG) {
          // A method that returns a thenable whose then never calls back (`Object.create(null)` with `then: () => 1`)
          // never settles, as awaiting it never does in JavaScript (nebula-engine alike): that case only.
          // (Over HTTP the handlerTimeout answers 503: the properties above.)
          expect(m === 'return' || m === 'return-after-await', current!.value.label).toBe(true)
          expect(current!.value.label).toMatch(/then/)
          return
        }
        if (m === 'throw' || m === 'throw-after-await') expect(thrown).toBeDefined()
      },
      runs(1500),
    )
  }, 120_000)

  it('a hub handler: every request is answered (a reply, or an error with a code)', async () => {
    // Unlimited: the runs come faster than the default per-client rate.
    const plugin = new HubPlugin({ allowAnonymous: true, maxMessagesPerSecond: 0 })
    const { engine } = setup({ plugins: [plugin] })
    engine.hub.on('h', () => run())
    const { port } = await listen(engine)
    const c = await connect(`ws://127.0.0.1:${port}/ws`)
    await property(
      failOrValue,
      async (m) => {
        if (fails(m)) {
          const answer = await c.request('h', {})
          expect(answer.message_type).toBe('error')
          expect(Number.isInteger(answer.data.code)).toBe(true)
        } else {
          // A value is answered, or nothing is (undefined): the connection serves the next message either way.
          c.send('h', {})
          expect((await c.request('ping', {})).message_type).toBe('pong')
        }
      },
      runs(500),
    )
    const pong = await c.request('ping', {})
    expect([pong.message_type, pong.data]).toEqual(['pong', expect.anything()])
    await c.close()
  }, 120_000)

  it('lifecycle hooks: start() settles (a failure names the plugin and hook), stop() resolves', async () => {
    const hooks = ['onInit', 'onModuleLoad', 'onHandlerLoad', 'onBeforeStart', 'onAfterStart', 'onDestroy'] as const
    await property(
      failOrValue,
      async () => {
        const hook = hooks[current!.value.label.length % hooks.length]
        // An onDestroy returning a thenable that never settles is given up after shutdownTimeout.
        const { engine } = setup({ options: { shutdownTimeout: 300 }, plugins: [{ name: 'hostile-hooks', [hook]: () => run() }] })
        const started = await engine.start(0).then(
          () => undefined,
          (err: unknown) => err,
        )
        if (started !== undefined) {
          expect(started).toBeInstanceOf(Error)
          expect((started as Error).message).toMatch(new RegExp(`^Plugin hostile-hooks failed in ${hook}: `))
        }
        await expect(engine.stop()).resolves.toBeUndefined()
      },
      runs(150),
    )
  }, 120_000)
})
