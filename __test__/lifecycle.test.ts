// Lifecycle: hook order, the ROUTE phase, failing hooks, start/stop, lazy init, options.
import { describe, it, expect, vi, afterEach } from 'vitest'
import { Microservice, Module, Handler, Route, Testing, RoutePlugin, PluginPriority } from '../index.js'

const HOOKS = ['onInit', 'onModuleLoad', 'onHandlerLoad', 'onBeforeStart', 'onAfterStart', 'onDestroy'] as const

/** A plugin that records `<name>:<hook>` for every hook into `log`. */
function recorder(log: string[], name: string, priority?: number) {
  const p: any = { name }
  if (priority !== undefined) p.priority = priority
  for (const hook of HOOKS) p[hook] = () => void log.push(`${name}:${hook}`)
  return p
}

/** A Testing engine with one module that has one custom handler `m`. */
function setup(plugins: any[]) {
  const { Module: M, engine } = Testing.createTestEngine({ plugins })
  @M('svc')
  class Svc {
    @Handler({ type: 'custom' })
    m() {
      return 'inner'
    }
  }
  return { engine, Svc }
}

const started: any[] = []
async function start(engine: any) {
  started.push(engine)
  return engine.start(0)
}
afterEach(async () => {
  for (const e of started.splice(0)) await e.stop()
  vi.restoreAllMocks()
})

describe('hook order', () => {
  it('runs every hook in the documented order across priorities, ROUTE plugins last in onHandlerLoad', async () => {
    const log: string[] = []
    // registration order: route(1000), log(200), sys(50), biz(default 300)
    const plugins = [
      recorder(log, 'route', PluginPriority.ROUTE),
      recorder(log, 'log', PluginPriority.LOGGING),
      recorder(log, 'sys', PluginPriority.SYSTEM),
      recorder(log, 'biz'),
    ]
    const { engine } = setup(plugins)
    await start(engine)
    expect(log).toEqual([
      'route:onInit',
      'log:onInit',
      'sys:onInit',
      'biz:onInit',
      'route:onModuleLoad',
      'log:onModuleLoad',
      'sys:onModuleLoad',
      'biz:onModuleLoad',
      'sys:onHandlerLoad',
      'log:onHandlerLoad',
      'biz:onHandlerLoad',
      'route:onHandlerLoad',
      'sys:onBeforeStart',
      'log:onBeforeStart',
      'biz:onBeforeStart',
      'route:onBeforeStart',
      'sys:onAfterStart',
      'log:onAfterStart',
      'biz:onAfterStart',
      'route:onAfterStart',
    ])
    log.length = 0
    await engine.stop()
    expect(log).toEqual(['biz:onDestroy', 'sys:onDestroy', 'log:onDestroy', 'route:onDestroy'])
  })

  it('passes the engine to onInit/onBeforeStart/onAfterStart, modules to onModuleLoad and handlers to onHandlerLoad', async () => {
    const args: Record<string, any> = {}
    const plugin: any = { name: 'args' }
    for (const hook of HOOKS) plugin[hook] = (arg: unknown) => void (args[hook] = arg)
    const { engine, Svc } = setup([plugin])
    await start(engine)
    expect(args.onInit).toBe(engine)
    expect(args.onBeforeStart).toBe(engine)
    expect(args.onAfterStart).toBe(engine)
    expect(args.onModuleLoad).toEqual([expect.objectContaining({ name: 'svc', clazz: Svc, options: {} })])
    expect(args.onHandlerLoad.map((h: any) => [h.module, h.methodName, h.type])).toEqual([[Svc, 'm', 'custom']])
  })

  it('lets a plugin above ROUTE priority (not exactly 1000) still wrap, as the innermost layer', async () => {
    const log: string[] = []
    const wrapper = (name: string, priority: number) => ({
      name,
      priority,
      onHandlerLoad: (hs: any[]) => hs.forEach((h) => h.wrap(async (next: any) => (log.push(name), next()))),
    })
    const { engine, Svc } = setup([wrapper('late', 2000), wrapper('early', 10)])
    await engine.handler(Svc, 'm')()
    expect(log).toEqual(['early', 'late'])
  })
})

describe('the ROUTE phase', () => {
  it("runs a ROUTE-priority plugin's onHandlerLoad after the chains were applied", async () => {
    let engineRef: any
    let fromRoutePhase: Promise<unknown> | undefined
    let wrapError: unknown
    const outer = {
      name: 'outer',
      priority: PluginPriority.SECURITY,
      onHandlerLoad: (hs: any[]) => hs.forEach((h) => h.wrap(async (next: any) => `wrapped(${await next()})`)),
    }
    const routeLike = {
      name: 'route-like',
      priority: PluginPriority.ROUTE,
      onInit: (e: any) => void (engineRef = e),
      onHandlerLoad(hs: any[]) {
        fromRoutePhase = engineRef.handler(hs[0].module, hs[0].methodName)()
        try {
          hs[0].wrap(async (next: any) => next())
        } catch (err) {
          wrapError = err
        }
      },
    }
    const { engine } = setup([routeLike, outer])
    engine.getModules()
    await expect(fromRoutePhase).resolves.toBe('wrapped(inner)')
    expect(wrapError).toBeInstanceOf(Error)
  })

  it('waits for a promise returned by a load-phase hook before running onBeforeStart', async () => {
    const log: string[] = []
    const slowRoute = {
      name: 'slow-route',
      priority: PluginPriority.ROUTE,
      onHandlerLoad: () => new Promise((r) => setImmediate(r)).then(() => void log.push('route loaded')),
    }
    const other = { name: 'other', onBeforeStart: () => void log.push('before start') }
    const { engine } = setup([slowRoute, other])
    await engine.request('/')
    expect(log).toEqual(['route loaded', 'before start'])
  })

  it("makes RoutePlugin's routes call the wrapped method", async () => {
    const { Module: M, engine } = Testing.createTestEngine({
      plugins: [new RoutePlugin(), { name: 'w', onHandlerLoad: (hs: any[]) => hs.forEach((h) => h.wrap(async (next: any) => `<${await next()}>`)) }],
    })
    @M('r')
    class R {
      @Route({ path: '/r' })
      r() {
        return 'raw'
      }
    }
    expect(await (await engine.request('/r')).text()).toBe('<raw>')
  })
})

describe('failing hooks', () => {
  it.each(['onInit', 'onModuleLoad', 'onHandlerLoad', 'onBeforeStart', 'onAfterStart'])(
    'rejects start() with "Plugin <name> failed in %s: <message>"',
    async (hook) => {
      const plugin: any = {
        name: 'grumpy',
        [hook]: () => {
          throw new Error('nope')
        },
      }
      const { engine } = setup([plugin])
      started.push(engine)
      await expect(engine.start(0)).rejects.toThrow(`Plugin grumpy failed in ${hook}: nope`)
    },
  )

  it.each(['onInit', 'onBeforeStart', 'onAfterStart'])('reports an async %s rejection the same way', async (hook) => {
    const plugin: any = {
      name: 'async-grumpy',
      [hook]: async () => {
        throw new Error('later')
      },
    }
    const { engine } = setup([plugin])
    started.push(engine)
    await expect(engine.start(0)).rejects.toThrow(`Plugin async-grumpy failed in ${hook}: later`)
  })

  it('uses the thrown value as the message when a hook throws a non-Error', async () => {
    const { engine } = setup([
      {
        name: 'stringly',
        onBeforeStart: () => {
          throw 'plain words'
        },
      },
    ])
    await expect(engine.request('/')).rejects.toThrow('Plugin stringly failed in onBeforeStart: plain words')
  })

  it('makes get() throw the same message when a load-phase hook throws', () => {
    const { engine, Svc } = setup([
      {
        name: 'bad',
        onModuleLoad: () => {
          throw new Error('no modules for you')
        },
      },
    ])
    expect(() => engine.get(Svc)).toThrow('Plugin bad failed in onModuleLoad: no modules for you')
  })
})

describe('start() and stop()', () => {
  it('awaits an async onAfterStart before start() resolves', async () => {
    const log: string[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let entered!: () => void
    const inHook = new Promise<void>((r) => (entered = r))
    const { engine } = setup([
      {
        name: 'slow',
        onAfterStart: async () => {
          entered()
          await gate
          log.push('hook done')
        },
      },
    ])
    started.push(engine)
    const starting = engine.start(0).then((port: number) => (log.push('start resolved'), port))
    await inHook
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
    expect(log).toEqual([])
    release()
    await starting
    expect(log).toEqual(['hook done', 'start resolved'])
  })

  it('calls onDestroy in reverse registration order and swallows (logs) errors', async () => {
    const log: string[] = []
    const errSpy = vi.spyOn(console, 'error').mockImplementation(() => {})
    const plugins = [
      { name: 'a', priority: 300, onDestroy: () => void log.push('a') },
      {
        name: 'b',
        priority: 50,
        onDestroy: () => {
          log.push('b')
          throw new Error('b broke')
        },
      },
      {
        name: 'c',
        priority: 400,
        onDestroy: async () => {
          log.push('c')
          throw new Error('c broke')
        },
      },
      { name: 'd', priority: 100, onDestroy: async () => void log.push('d') },
    ]
    const { engine } = setup(plugins)
    await engine.start(0)
    await expect(engine.stop()).resolves.toBeUndefined()
    expect(log).toEqual(['d', 'c', 'b', 'a'])
    expect(errSpy).toHaveBeenCalled()
  })

  it('gives up on an onDestroy that never settles after shutdownTimeout, logs it, and runs the next one', async () => {
    const log: string[] = []
    const errSpy = vi.spyOn(console, 'error').mockImplementation(() => {})
    const plugins = [
      { name: 'first', priority: 300, onDestroy: () => void log.push('first') },
      // A thenable whose then never calls back: awaiting it alone would wait forever.
      { name: 'stuck', priority: 400, onDestroy: () => (log.push('stuck'), { then() {} }) },
    ]
    const { engine } = Testing.createTestEngine({ plugins, options: { name: 'svc', version: '1.0.0', shutdownTimeout: 150 } })
    await engine.start(0)
    const t0 = Date.now()
    await expect(engine.stop()).resolves.toBeUndefined()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    expect(log).toEqual(['stuck', 'first'])
    const lines = errSpy.mock.calls.map((c) => String(c[0]))
    expect(lines).toContain('[nebula] Plugin stuck onDestroy did not settle within shutdownTimeout (150 ms); stop() goes on without it')
  })

  it('waits for a slow onDestroy under the largest shutdownTimeout (no timer overflow)', async () => {
    const errSpy = vi.spyOn(console, 'error').mockImplementation(() => {})
    let done = false
    const plugins = [{ name: 'slow', onDestroy: () => new Promise<void>((r) => setTimeout(() => ((done = true), r()), 30)) }]
    const { engine } = Testing.createTestEngine({ plugins, options: { name: 'svc', version: '1.0.0', shutdownTimeout: 0xffffffff } })
    await engine.start(0)
    await engine.stop()
    expect(done).toBe(true)
    expect(errSpy).not.toHaveBeenCalled()
  })

  it('rejects a second start() with "Engine is already started"', async () => {
    const { engine } = setup([])
    await start(engine)
    await expect(engine.start(0)).rejects.toThrow('Engine is already started')
  })

  it('rejects a second start() made while the first is still starting', async () => {
    const { engine } = setup([])
    started.push(engine)
    const first = engine.start(0)
    const second = engine.start(0)
    await expect(second).rejects.toThrow('Engine is already started')
    await expect(first).resolves.toBeGreaterThan(0)
  })

  it('returns the real port from start(0), and getPort() agrees', async () => {
    const { engine } = setup([])
    const port = await start(engine)
    expect(port).toBeGreaterThan(0)
    expect(engine.getPort()).toBe(port)
  })
})

describe('the lifecycle state', () => {
  it('names the state when a call comes at the wrong time', async () => {
    const { engine } = setup([])
    engine.getModules()
    expect(() => engine.plugin({ name: 'late' })).toThrow('Cannot add plugin late: the engine is already initialized (it is loaded)')
    await start(engine)
    await expect(engine.start(0)).rejects.toThrow('Engine is already started (it is started)')
    await engine.stop()
    await expect(engine.request('/')).rejects.toThrow('Engine is stopped (it is stopped)')
    await expect(engine.start(0)).rejects.toThrow('Engine is stopped; create a new one (it is stopped)')
  })

  it('stays stopped when stop() comes while request() is preparing the engine', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const { engine } = setup([{ name: 'slow', onBeforeStart: () => gate }])
    const early = engine.request('/nothing')
    const stopping = engine.stop()
    release()
    expect((await early).status).toBe(404)
    await stopping
    await expect(engine.request('/nothing')).rejects.toThrow('Engine is stopped')
    await expect(engine.start(0)).rejects.toThrow('Engine is stopped')
    expect(engine.getPort()).toBe(0)
  })

  it('runs onDestroy once when stop() is called again while the first stop() waits for a start()', async () => {
    let destroyed = 0
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const { engine } = setup([{ name: 'p', onAfterStart: () => gate, onDestroy: () => void destroyed++ }])
    const starting = engine.start(0)
    const first = engine.stop()
    const second = engine.stop()
    release()
    await expect(starting).rejects.toThrow(/stopped while starting/)
    await Promise.all([first, second])
    expect(destroyed).toBe(1)
  })

  it('keeps the modules after a failed onBeforeStart; start() and request() fail with its error', async () => {
    const { engine, Svc } = setup([{ name: 'bad', onBeforeStart: () => Promise.reject(new Error('no start for you')) }])
    await expect(engine.request('/')).rejects.toThrow('Plugin bad failed in onBeforeStart: no start for you')
    await expect(engine.start(0)).rejects.toThrow('Plugin bad failed in onBeforeStart: no start for you')
    await expect(engine.handler(Svc, 'm')()).resolves.toBe('inner')
    await engine.stop()
  })

  it('runs onAfterStart again on a start() retried after it failed, and not after a failed listen', async () => {
    let calls = 0
    let fail = true
    const { engine } = setup([
      {
        name: 'flaky',
        onAfterStart: () => {
          calls++
          if (fail) throw new Error('not yet')
        },
      },
    ])
    started.push(engine)
    await expect(engine.start(0)).rejects.toThrow('Plugin flaky failed in onAfterStart: not yet')
    fail = false
    expect(await engine.start(0)).toBeGreaterThan(0)
    expect(calls).toBe(2)

    calls = 0
    const { engine: other } = setup([{ name: 'counter', onAfterStart: () => void calls++ }])
    started.push(other)
    const blocker = new Microservice({ name: 'blocker', version: '1', modules: [] })
    started.push(blocker)
    const port = await blocker.start(0)
    await expect(other.start(port)).rejects.toThrow(/could not listen/)
    expect(await other.start(0)).toBeGreaterThan(0)
    expect(calls).toBe(1)
  })
})

describe('before start()', () => {
  it('serves get(), handler(), getModules() and request() without a socket', async () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @M('early')
    class Early {
      @Route({ path: '/early' })
      early() {
        return 'early bird'
      }
    }
    expect(engine.getModules().map((m: any) => m.clazz)).toEqual([Early])
    expect(engine.get(Early)).toBeInstanceOf(Early)
    await expect(engine.handler(Early, 'early')()).resolves.toBe('early bird')
    const res = await engine.request('/early')
    expect(await res.text()).toBe('early bird')
    expect(engine.getPort()).toBe(0)
  })

  it('runs each hook only once across get/handler/getModules/request and a later start()', async () => {
    const log: string[] = []
    const { engine, Svc } = setup([recorder(log, 'p')])
    engine.getModules()
    engine.get(Svc)
    await engine.handler(Svc, 'm')()
    await engine.request('/nothing')
    await engine.request('/nothing')
    await start(engine)
    expect(log).toEqual(['p:onInit', 'p:onModuleLoad', 'p:onHandlerLoad', 'p:onBeforeStart', 'p:onAfterStart'])
  })

  it('keeps one instance per module class across get() calls and start()', async () => {
    const { engine, Svc } = setup([])
    const first = engine.get(Svc)
    await start(engine)
    expect(engine.get(Svc)).toBe(first)
  })

  it('finds Testing modules decorated after the engine was constructed', () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [] })
    @M('late')
    class Late {}
    expect(engine.getModules().map((m: any) => m.clazz)).toEqual([Late])
  })

  it('finds global @Module classes decorated after `new Microservice` was constructed', () => {
    const engine = new Microservice({ name: 'late', version: '1.0.0' })
    @Module('late-global')
    class LateGlobal {}
    expect(engine.getModules().map((m: any) => m.clazz)).toContain(LateGlobal)
    expect(engine.get(LateGlobal)).toBeInstanceOf(LateGlobal)
  })
})

describe('engine.options', () => {
  it('is frozen, with defaults filled in (hostname 0.0.0.0, prefix "", bodyLimit 1 MiB)', () => {
    const given = { name: 'opts', version: '2.0.0' }
    const engine = new Microservice({ ...given, modules: [] })
    expect(engine.options).toMatchObject({ name: 'opts', version: '2.0.0', hostname: '0.0.0.0', prefix: '', bodyLimit: 1048576 })
    expect(Object.isFrozen(engine.options)).toBe(true)
    expect(() => {
      ;(engine.options as any).name = 'changed'
    }).toThrow(TypeError)
    expect(engine.options.name).toBe('opts')
  })

  it("keeps values the caller gave instead of the defaults, without freezing the caller's object", () => {
    const given = { name: 'opts', version: '2.0.0', hostname: '127.0.0.1', prefix: '/api', bodyLimit: 10, modules: [] }
    const engine = new Microservice(given)
    expect(engine.options).toMatchObject({ hostname: '127.0.0.1', prefix: '/api', bodyLimit: 10 })
    expect(Object.isFrozen(given)).toBe(false)
  })

  it('refuses limits that are not positive 32-bit integers, naming the option', () => {
    for (const bad of [0, -1, 1.5, 2 ** 32, '100', Number.NaN]) {
      expect(() => new Microservice({ name: 'o', version: '1', bodyLimit: bad as any, modules: [] })).toThrow(
        /"bodyLimit" must be an integer from 1 to 4294967295/,
      )
    }
    expect(() => new Microservice({ name: 'o', version: '1', handlerTimeout: -5, modules: [] })).toThrow(/"handlerTimeout"/)
  })

  it('treats an option given as undefined as the default', () => {
    const engine = new Microservice({ name: 'opts', version: '1', hostname: undefined, bodyLimit: undefined, modules: [] })
    expect(engine.options.hostname).toBe('0.0.0.0')
    expect(engine.options.bodyLimit).toBe(1048576)
  })
})
