// Plugin registration: names, replacement, default plugins, module option validation.
import { describe, it, expect } from 'vitest'
import { Microservice, Module, Route, Handler, Factory, Testing, RoutePlugin, PluginNameRequiredError, ModuleConfigValidationError } from '../index.js'

const base = { name: 'plugins-test', version: '1.0.0' }

@Module('hello')
class HelloModule {
  @Route({ path: '/hello' })
  hello() {
    return 'hello'
  }
}

const names = (engine: any) => engine.getPlugins().map((p: any) => p.name)

describe('plugin names', () => {
  it('lets a second plugin with the same name replace the first', () => {
    const calls: string[] = []
    const first = { name: 'dup', onInit: () => calls.push('first') }
    const second = { name: 'dup', onInit: () => calls.push('second') }
    const { engine } = Testing.createTestEngine({ plugins: [] })
    engine.plugin(first).plugin(second)
    engine.getModules()
    expect(calls).toEqual(['second'])
    expect(engine.getPlugins()).toEqual([second])
  })

  it("puts the replacement in the replaced plugin's registration slot", async () => {
    const log: string[] = []
    const tagger = (name: string, tag: string) => ({
      name,
      priority: 100,
      onHandlerLoad: (hs: any[]) => hs.forEach((h) => h.wrap(async (next: any) => (log.push(tag), next()))),
    })
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [] })
    @M('m')
    class C {
      @Handler({ type: 'custom' })
      m() {}
    }
    engine.plugin(tagger('x', 'x1')).plugin(tagger('y', 'y')).plugin(tagger('x', 'x2'))
    await engine.handler(C, 'm')()
    expect(log).toEqual(['x2', 'y'])
  })

  it.each([
    ['an empty name', { name: '' }],
    ['a missing name', {}],
    ['a blank name', { name: '   ' }],
  ])('rejects a plugin with %s with PluginNameRequiredError', (_, plugin) => {
    const { engine } = Testing.createTestEngine({ plugins: [] })
    expect(() => engine.plugin(plugin as any)).toThrow(PluginNameRequiredError)
  })

  it('rejects a nameless plugin given to registerDefaultPlugin or Factory.create', () => {
    expect(() => Microservice.registerDefaultPlugin({ name: '' } as any)).toThrow(PluginNameRequiredError)
    const { Microservice: F } = Factory.create({ name: '' } as any)
    expect(() => new F(base)).toThrow(PluginNameRequiredError)
  })

  it('returns the engine from .plugin() so calls chain', () => {
    const engine = new Microservice({ ...base, modules: [] })
    const a = { name: 'a' }
    const b = { name: 'b' }
    expect(engine.plugin(a)).toBe(engine)
    expect(engine.plugin(a).plugin(b)).toBe(engine)
    expect(engine.getPlugins()).toContain(b)
  })
})

describe('the default RoutePlugin', () => {
  it('is registered on every `new Microservice`', async () => {
    const engine = new Microservice({ ...base, modules: [HelloModule] })
    expect(engine.getPlugins().some((p: any) => p instanceof RoutePlugin)).toBe(true)
    const res = await engine.request('/hello')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('hello')
  })

  it('gives every engine its own RoutePlugin instance', () => {
    const a = new Microservice({ ...base, modules: [] })
    const b = new Microservice({ ...base, modules: [] })
    const ra = a.getPlugins().find((p: any) => p.name === 'route-plugin')
    const rb = b.getPlugins().find((p: any) => p.name === 'route-plugin')
    expect(ra).toBeInstanceOf(RoutePlugin)
    expect(ra).not.toBe(rb)
  })

  it('is dropped by disableDefaultPlugins: no plugins, so routes answer 404', async () => {
    const engine = new Microservice({ ...base, modules: [HelloModule], disableDefaultPlugins: true })
    expect(engine.getPlugins()).toEqual([])
    const res = await engine.request('/hello')
    expect(res.status).toBe(404)
  })

  it('is replaced by a RoutePlugin registered under the same name (custom prefix)', async () => {
    const custom = new RoutePlugin({ prefix: '/custom' })
    const engine = new Microservice({ ...base, modules: [HelloModule] }).plugin(custom)
    expect(engine.getPlugins().filter((p: any) => p.name === 'route-plugin')).toEqual([custom])
    expect((await engine.request('/custom/hello')).status).toBe(200)
    expect((await engine.request('/hello')).status).toBe(404)
  })

  it('is replaced by any plugin named "route-plugin" (a stub that serves nothing)', async () => {
    const seen: string[] = []
    const stub = { name: 'route-plugin', onHandlerLoad: (hs: any[]) => hs.forEach((h) => seen.push(h.methodName)) }
    const engine = new Microservice({ ...base, modules: [HelloModule] }).plugin(stub)
    expect(engine.getPlugins()).toEqual([stub])
    expect((await engine.request('/hello')).status).toBe(404)
    expect(seen).toEqual(['hello'])
  })

  it('is not given to Factory or Testing engines', () => {
    const { Microservice: F } = Factory.create()
    expect(new F(base).getPlugins()).toEqual([])
    const { engine } = Testing.createTestEngine({ plugins: [] })
    expect(engine.getPlugins()).toEqual([])
  })
})

describe('module options validation', () => {
  function engineWith(validate: (opts: any) => string | boolean, moduleOptions: Record<string, any> = { flag: 1 }) {
    const plugin = { name: 'strict', getModuleOptionsSchema: () => ({ _type: {}, validate }) }
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [plugin] })
    @M('checked', moduleOptions)
    class Checked {}
    return { engine, Checked }
  }

  it('fails start() with ModuleConfigValidationError naming module, plugin and reason when validate returns a string', async () => {
    const { engine } = engineWith(() => 'flag must be a string')
    const err = await engine.start(0).then(
      () => engine.stop().then(() => undefined),
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ModuleConfigValidationError)
    expect(err).toMatchObject({ moduleName: 'checked', pluginName: 'strict', reason: 'flag must be a string' })
    expect((err as Error).message).toContain('checked')
    expect((err as Error).message).toContain('strict')
    expect((err as Error).message).toContain('flag must be a string')
  })

  it('fails with ModuleConfigValidationError when validate returns false', async () => {
    const { engine } = engineWith(() => false)
    await expect(engine.request('/')).rejects.toBeInstanceOf(ModuleConfigValidationError)
    expect(() => engine.getModules()).toThrow(ModuleConfigValidationError)
  })

  it("passes when validate returns true, and validate receives the module's options", async () => {
    const received: unknown[] = []
    const { engine, Checked } = engineWith((opts) => (received.push(opts), true), { flag: 'yes' })
    expect(engine.getModules().map((m: any) => m.clazz)).toEqual([Checked])
    expect(received).toEqual([{ flag: 'yes' }])
  })

  it('validates every module, including those without options', () => {
    const received: unknown[] = []
    const plugin = { name: 'counter', getModuleOptionsSchema: () => ({ _type: {}, validate: (o: any) => (received.push(o), true) }) }
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [plugin] })
    @M('one', { a: 1 })
    class One {}
    @M('two')
    class Two {}
    engine.getModules()
    expect(received).toEqual([{ a: 1 }, {}])
  })

  it("rejects a non-string routePrefix through RoutePlugin's own validation", async () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @M('prefixed', { routePrefix: 42 as any })
    class Prefixed {}
    const err = await engine.request('/').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModuleConfigValidationError)
    expect(err).toMatchObject({ moduleName: 'prefixed', pluginName: 'route-plugin' })
    expect((err as any).reason).toContain('routePrefix')
  })

  it('rejects routeMiddlewares that are not an array of functions', () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @M('mw', { routeMiddlewares: ['not a function'] as any })
    class Mw {}
    expect(() => engine.getModules()).toThrow(ModuleConfigValidationError)
  })

  it('serves routes under a valid string routePrefix', async () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @M('api', { routePrefix: '/api' })
    class Api {
      @Route({ path: '/ping' })
      ping() {
        return 'pong'
      }
    }
    expect(await (await engine.request('/api/ping')).text()).toBe('pong')
  })
})

// Keep last: registerDefaultPlugin changes every `new Microservice` created afterwards in this file.
describe('Microservice.registerDefaultPlugin', () => {
  it('adds the plugin to `new Microservice` engines created afterwards, not to earlier ones', () => {
    const before = new Microservice({ ...base, modules: [] })
    const inits: unknown[] = []
    const extra = { name: 'extra-default', onInit: (engine: unknown) => inits.push(engine) }
    Microservice.registerDefaultPlugin(extra)
    const after = new Microservice({ ...base, modules: [] })
    expect(names(before)).not.toContain('extra-default')
    expect(names(after)).toEqual(['route-plugin', 'extra-default'])
    after.getModules()
    expect(inits).toEqual([after])
  })

  it('does not add it to Factory or Testing engines', () => {
    const { Microservice: F } = Factory.create()
    expect(names(new F(base))).toEqual([])
    expect(names(Testing.createTestEngine({ plugins: [] }).engine)).toEqual([])
  })

  it('is dropped together with RoutePlugin by disableDefaultPlugins', () => {
    const engine = new Microservice({ ...base, modules: [], disableDefaultPlugins: true })
    expect(names(engine)).toEqual([])
  })
})
