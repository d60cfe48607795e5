// nebula-engine's shipped API: Factory.create, Testing.createTestEngine, errors, priorities.
import { describe, it, expect, afterEach } from 'vitest'
import {
  Microservice,
  Module,
  Handler,
  Route,
  Factory,
  Testing,
  RoutePlugin,
  PluginPriority,
  DuplicateModuleError,
  PluginNameRequiredError,
  ModuleConfigValidationError,
} from '../index.js'

const base = { name: 'compat', version: '1.0.0' }

const running: any[] = []
afterEach(async () => {
  for (const e of running.splice(0)) await e.stop()
})

describe('Factory.create(...plugins)', () => {
  it('returns { Module, Microservice }', () => {
    const made = Factory.create()
    expect(Object.keys(made).sort()).toEqual(['Microservice', 'Module'])
    expect(typeof made.Module).toBe('function')
    expect(new made.Microservice(base)).toBeInstanceOf(Microservice)
  })

  it('gives its engines exactly the plugins given, in that order, and runs their hooks', () => {
    const inits: string[] = []
    const a = { name: 'a', onInit: () => void inits.push('a') }
    const b = { name: 'b', onInit: () => void inits.push('b') }
    const { Microservice: F } = Factory.create(a, b)
    const engine = new F(base)
    expect(engine.getPlugins()).toEqual([a, b])
    engine.getModules()
    expect(inits).toEqual(['a', 'b'])
  })

  it('gives its engines no default RoutePlugin: routes answer 404 unless a RoutePlugin is passed', async () => {
    const bare = Factory.create()
    @bare.Module('bare')
    class Bare {
      @Route({ path: '/bare' })
      bare() {
        return 'bare'
      }
    }
    void Bare
    expect((await new bare.Microservice(base).request('/bare')).status).toBe(404)

    const routed = Factory.create(new RoutePlugin())
    @routed.Module('routed')
    class Routed {
      @Route({ path: '/routed' })
      routed() {
        return 'routed'
      }
    }
    void Routed
    expect(await (await new routed.Microservice(base).request('/routed')).text()).toBe('routed')
  })

  it("binds its Module's classes to its own engines: another factory's engines do not see them", () => {
    const one = Factory.create()
    const two = Factory.create()
    @one.Module('belongs-to-one')
    class OfOne {}
    expect(new one.Microservice(base).getModules().map((m: any) => m.clazz)).toEqual([OfOne])
    expect(new two.Microservice(base).getModules()).toEqual([])
  })

  it('shares its classes between all engines of the same factory', () => {
    const made = Factory.create()
    @made.Module('shared')
    class SharedInFactory {}
    const e1 = new made.Microservice(base)
    const e2 = new made.Microservice(base)
    expect(e1.getModules().map((m: any) => m.clazz)).toEqual([SharedInFactory])
    expect(e2.getModules().map((m: any) => m.clazz)).toEqual([SharedInFactory])
    expect(e1.get(SharedInFactory)).not.toBe(e2.get(SharedInFactory))
  })

  it('keeps factory classes and global @Module classes apart', () => {
    const made = Factory.create()
    @made.Module('factory-side')
    class FactorySide {}
    @Module('global-side')
    class GlobalSide {}
    expect(new made.Microservice(base).getModules().map((m: any) => m.clazz)).toEqual([FactorySide])
    const globalClasses = new Microservice(base).getModules().map((m: any) => m.clazz)
    expect(globalClasses).toContain(GlobalSide)
    expect(globalClasses).not.toContain(FactorySide)
  })
})

describe('Testing.createTestEngine', () => {
  it('returns { Module, Microservice, engine } with default options { name: "test-service", version: "1.0.0" }', () => {
    const made = Testing.createTestEngine({ plugins: [] })
    expect(Object.keys(made).sort()).toEqual(['Microservice', 'Module', 'engine'])
    expect(made.engine).toBeInstanceOf(made.Microservice)
    expect(made.engine.options).toMatchObject({ name: 'test-service', version: '1.0.0', hostname: '0.0.0.0', prefix: '' })
    expect(Object.isFrozen(made.engine.options)).toBe(true)
  })

  it("has nebula's Testing.wait(ms) and DEFAULT_TEST_OPTIONS (nebula's dynamic-config test uses wait)", async () => {
    expect(Testing.DEFAULT_TEST_OPTIONS).toEqual({ name: 'test-service', version: '1.0.0' })
    const t0 = performance.now()
    await expect(Testing.wait(20)).resolves.toBeUndefined()
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19)
  })

  it('uses the options given instead of the defaults', () => {
    const { engine } = Testing.createTestEngine({ plugins: [], options: { name: 'custom', version: '9.9.9' } })
    expect(engine.options).toMatchObject({ name: 'custom', version: '9.9.9', hostname: '0.0.0.0' })
  })

  it('wires the given plugins into the engine and isolates its Module', async () => {
    const log: string[] = []
    const wrapper = {
      name: 'w',
      onHandlerLoad: (hs: any[]) => hs.forEach((h) => h.wrap(async (next: any) => (log.push('w'), next()))),
    }
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [wrapper] })
    @M('tested')
    class Tested {
      @Handler({ type: 'custom' })
      run() {
        return 'ran'
      }
    }
    await expect(engine.handler(Tested, 'run')()).resolves.toBe('ran')
    expect(log).toEqual(['w'])
    expect(Testing.createTestEngine({ plugins: [] }).engine.getModules()).toEqual([])
  })

  it('answers engine.request() with a WHATWG Response', async () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @M('whatwg')
    class W {
      @Route({ path: '/w' })
      w() {
        return { ok: true }
      }
    }
    void W
    const res = await engine.request('/w')
    expect(res).toBeInstanceOf(Response)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toEqual({ ok: true })
  })
})

describe('errors', () => {
  it('exports DuplicateModuleError, PluginNameRequiredError and ModuleConfigValidationError as Error subclasses', () => {
    for (const E of [DuplicateModuleError, PluginNameRequiredError, ModuleConfigValidationError]) {
      expect(typeof E).toBe('function')
      expect(E.prototype).toBeInstanceOf(Error)
    }
  })

  it('never throws DuplicateModuleError for repeated module names: both modules load and start', async () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @M('twin')
    class TwinA {
      @Route({ path: '/twin-a' })
      a() {
        return 'a'
      }
    }
    @M('twin')
    class TwinB {
      @Route({ path: '/twin-b' })
      b() {
        return 'b'
      }
    }
    expect(engine.getModules().map((m: any) => [m.name, m.clazz])).toEqual([
      ['twin', TwinA],
      ['twin', TwinB],
    ])
    running.push(engine)
    const port = await engine.start(0)
    expect(await (await fetch(`http://127.0.0.1:${port}/twin-a`)).text()).toBe('a')
    expect(await (await fetch(`http://127.0.0.1:${port}/twin-b`)).text()).toBe('b')
  })

  it('lets global @Module names repeat too', () => {
    @Module('global-twin')
    class G1 {}
    @Module('global-twin')
    class G2 {}
    const engine = new Microservice({ ...base, modules: [G1, G2] })
    expect(engine.getModules().map((m: any) => m.clazz)).toEqual([G1, G2])
  })
})

describe('PluginPriority', () => {
  it('has the nebula-engine values SYSTEM 50, SECURITY 100, LOGGING 200, BUSINESS 300, PERFORMANCE 400, ROUTE 1000', () => {
    expect({ ...PluginPriority }).toEqual({
      SYSTEM: 50,
      SECURITY: 100,
      LOGGING: 200,
      BUSINESS: 300,
      PERFORMANCE: 400,
      ROUTE: 1000,
    })
  })

  it('gives RoutePlugin the name "route-plugin" and priority ROUTE', () => {
    const rp = new RoutePlugin()
    expect(rp.name).toBe('route-plugin')
    expect(rp.priority).toBe(PluginPriority.ROUTE)
  })
})

describe('ModuleMetadata', () => {
  it('describes each module as { name, clazz, options }', () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [] })
    @M('meta', { routePrefix: '/meta', custom: 1 })
    class Meta {}
    expect(engine.getModules()).toEqual([{ name: 'meta', clazz: Meta, options: { routePrefix: '/meta', custom: 1 } }])
  })
})
