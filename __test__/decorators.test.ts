// Decorators in TC39 standard form (this file is compiled without experimentalDecorators),
// module/handler metadata, and per-engine chains. The legacy form is in legacy/.
import { describe, it, expect } from 'vitest'
import { Microservice, Module, Handler, Route, Page, Testing, RoutePlugin } from '../index.js'

const base = { name: 'decorators-test', version: '1.0.0' }

/** An isolated engine that serves HTTP routes. */
function routed() {
  return Testing.createTestEngine({ plugins: [new RoutePlugin()] })
}

/** A plugin that wraps every handler with a layer logging `tag`. */
function tagPlugin(log: string[], tag: string, only?: (h: any) => boolean) {
  return {
    name: `tag-${tag}`,
    onHandlerLoad(handlers: any[]) {
      for (const h of handlers) {
        if (only && !only(h)) continue
        h.wrap(async (next: () => Promise<unknown>) => {
          log.push(tag)
          return next()
        })
      }
    },
  }
}

describe('TC39 standard decorators', () => {
  it('are what this file is compiled with (a decorator gets (value, context))', () => {
    const seen: unknown[] = []
    const probe = (value: unknown, context: any) => void seen.push(typeof value, context?.kind)
    class P {
      @probe
      m() {}
    }
    void P
    expect(seen).toEqual(['function', 'method'])
  })

  it('register modules and routes that the engine serves', async () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @M('std', { routePrefix: '/std' })
    class Std {
      greeting = 'hi'
      @Route({ path: '/hello' })
      hello() {
        return `${this.greeting} from std`
      }
    }
    expect(engine.getModules()).toEqual([expect.objectContaining({ name: 'std', clazz: Std, options: { routePrefix: '/std' } })])
    expect(await (await engine.request('/std/hello')).text()).toBe('hi from std')
  })
})

// Global @Module classes: every engine below restricts itself with `modules: [...]`.
const original = { m: undefined as unknown }

@Module('shared')
class Shared {
  @Handler({ type: 'custom' })
  m() {
    return 'shared'
  }
}
original.m = Shared.prototype.m

@Module('only-a')
class OnlyA {
  @Route({ path: '/only-a' })
  a() {
    return 'a'
  }
}

@Module('only-b')
class OnlyB {
  @Route({ path: '/only-b' })
  b() {
    return 'b'
  }
}

describe('chains belong to the engine instance', () => {
  it("keeps two engines using the same class from seeing each other's wrappers", async () => {
    const log: string[] = []
    const e1 = new Microservice({ ...base, modules: [Shared] }).plugin(tagPlugin(log, 'one'))
    const e2 = new Microservice({ ...base, modules: [Shared] }).plugin(tagPlugin(log, 'two'))
    await e1.handler(Shared, 'm')()
    expect(log).toEqual(['one'])
    log.length = 0
    await e2.handler(Shared, 'm')()
    expect(log).toEqual(['two'])
    expect(e1.get(Shared)).not.toBe(e2.get(Shared))
  })

  it('leaves the class prototype untouched: a plain instance runs no wrappers', async () => {
    const log: string[] = []
    const keys = Reflect.ownKeys(Shared.prototype)
    const engine = new Microservice({ ...base, modules: [Shared] }).plugin(tagPlugin(log, 'x'))
    await engine.handler(Shared, 'm')()
    expect(log).toEqual(['x'])
    expect(Shared.prototype.m).toBe(original.m)
    expect(Reflect.ownKeys(Shared.prototype)).toEqual(keys)
    log.length = 0
    expect(new Shared().m()).toBe('shared')
    expect(log).toEqual([])
  })

  it("puts the wrapped method on the engine's instance: engine.get(C).m runs the chain", async () => {
    const log: string[] = []
    const engine = new Microservice({ ...base, modules: [Shared] }).plugin(tagPlugin(log, 'own'))
    const instance = engine.get(Shared)
    expect(instance.m).not.toBe(original.m)
    await expect(instance.m()).resolves.toBe('shared')
    expect(log).toEqual(['own'])
  })

  it('keeps two module classes with the same class name but different @Module names apart', async () => {
    const log: string[] = []
    const { Module: M, engine } = Testing.createTestEngine({
      plugins: [tagPlugin(log, 'first-only', (h) => h.module === First)],
    })
    const make = (moduleName: string, answer: string) => {
      @M(moduleName)
      class Service {
        @Handler({ type: 'custom' })
        run() {
          return answer
        }
      }
      return Service
    }
    const First = make('first', 'from first')
    const Second = make('second', 'from second')
    expect(First.name).toBe(Second.name)
    await expect(engine.handler(Second, 'run')()).resolves.toBe('from second')
    expect(log).toEqual([])
    await expect(engine.handler(First, 'run')()).resolves.toBe('from first')
    expect(log).toEqual(['first-only'])
    expect(engine.getModules().map((m: any) => m.name)).toEqual(['first', 'second'])
  })

  it('keeps classes with the same class name AND the same @Module name apart too', async () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [] })
    const make = (answer: string) => {
      @M('same')
      class Service {
        @Handler({ type: 'custom' })
        run() {
          return answer
        }
      }
      return Service
    }
    const One = make('one')
    const Two = make('two')
    await expect(engine.handler(One, 'run')()).resolves.toBe('one')
    await expect(engine.handler(Two, 'run')()).resolves.toBe('two')
  })
})

describe('handler metadata', () => {
  it('shows @Handler({type: "custom"}) to plugins in onHandlerLoad with type, options, methodName, module and method', () => {
    const seen: any[] = []
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [{ name: 'spy', onHandlerLoad: (hs: any[]) => seen.push(...hs) }] })
    @M('jobs')
    class Jobs {
      @Handler({ type: 'custom', options: { every: 5 } })
      tick() {}
      undecorated() {}
    }
    const tick = Jobs.prototype.tick
    engine.getModules()
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ type: 'custom', options: { every: 5 }, methodName: 'tick', module: Jobs })
    expect(seen[0].method).toBe(tick)
    expect(typeof seen[0].wrap).toBe('function')
  })

  it('gives one entry per decorator when a method carries several', () => {
    const seen: any[] = []
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [{ name: 'spy', onHandlerLoad: (hs: any[]) => seen.push(...hs) }] })
    @M('multi')
    class Multi {
      @Handler({ type: 'custom' })
      @Route({ path: '/multi' })
      both() {}
    }
    engine.getModules()
    expect(seen.map((h) => h.type).sort()).toEqual(['custom', 'route'])
    expect(seen.every((h) => h.module === Multi && h.methodName === 'both')).toBe(true)
  })
})

describe('routes', () => {
  it('makes @Page a GET route (string and object forms)', async () => {
    const { Module: M, engine } = routed()
    @M('pages')
    class Pages {
      @Page('/about')
      about() {
        return 'about'
      }
      @Page({ path: '/contact' })
      contact() {
        return 'contact'
      }
    }
    void Pages
    expect(await (await engine.request('/about')).text()).toBe('about')
    expect(await (await engine.request('/contact')).text()).toBe('contact')
    expect((await engine.request('/about', { method: 'POST' })).status).toBe(405)
  })

  it('reports @Page as type "route" with method GET to plugins', () => {
    const seen: any[] = []
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [{ name: 'spy', onHandlerLoad: (hs: any[]) => seen.push(...hs) }] })
    @M('page-meta')
    class PageMeta {
      @Page('/p')
      p() {}
    }
    void PageMeta
    engine.getModules()
    expect(seen[0].type).toBe('route')
    expect(seen[0].options).toMatchObject({ path: '/p', method: 'GET' })
  })

  it('serves a @Route with a list of methods and a list of paths on every combination', async () => {
    const { Module: M, engine } = routed()
    @M('lists')
    class Lists {
      @Route({ method: ['GET', 'POST'], path: ['/one', '/two'] })
      any(ctx: any) {
        return ctx.req.method
      }
    }
    void Lists
    for (const path of ['/one', '/two']) {
      for (const method of ['GET', 'POST']) {
        const res = await engine.request(path, { method })
        expect(res.status).toBe(200)
        expect(await res.text()).toBe(method)
      }
      expect((await engine.request(path, { method: 'PUT' })).status).toBe(405)
    }
  })

  it('defaults @Route to GET', async () => {
    const { Module: M, engine } = routed()
    @M('default-get')
    class DefaultGet {
      @Route({ path: '/dg' })
      dg() {
        return 'got'
      }
    }
    void DefaultGet
    expect(await (await engine.request('/dg')).text()).toBe('got')
    expect((await engine.request('/dg', { method: 'DELETE' })).status).toBe(405)
  })

  it('rejects an unsupported HTTP method at decoration time', () => {
    expect(() => Route({ method: 'FETCH' as any, path: '/x' })).toThrow(TypeError)
  })
})

describe('which modules an engine loads', () => {
  it('restricts itself to `modules: [A]`', async () => {
    const engine = new Microservice({ ...base, modules: [OnlyA] })
    expect(engine.getModules().map((m: any) => m.clazz)).toEqual([OnlyA])
    expect(() => engine.get(OnlyB)).toThrow()
    expect((await engine.request('/only-a')).status).toBe(200)
    expect((await engine.request('/only-b')).status).toBe(404)
  })

  it('loads every global @Module class when `modules` is not given', () => {
    const engine = new Microservice(base)
    const classes = engine.getModules().map((m: any) => m.clazz)
    expect(classes).toEqual(expect.arrayContaining([Shared, OnlyA, OnlyB]))
  })
})

describe('inheritance', () => {
  it('serves and wraps a decorated method declared on a base class', async () => {
    const log: string[] = []
    const seen: any[] = []
    const { Module: M, engine } = Testing.createTestEngine({
      plugins: [new RoutePlugin(), tagPlugin(log, 'w'), { name: 'spy', onHandlerLoad: (hs: any[]) => seen.push(...hs) }],
    })
    class Base {
      @Route({ path: '/inherited' })
      inherited() {
        return `inherited by ${this.constructor.name}`
      }
    }
    @M('child')
    class Child extends Base {}
    expect(await (await engine.request('/inherited')).text()).toBe('inherited by Child')
    expect(log).toEqual(['w'])
    expect(seen[0]).toMatchObject({ module: Child, methodName: 'inherited' })
    expect(Object.hasOwn(Base.prototype, 'inherited')).toBe(true)
    expect(new Base().inherited()).toBe('inherited by Base')
  })

  it('lets a decorated override in the subclass win over the base method', async () => {
    const { Module: M, engine } = routed()
    class Base {
      @Route({ path: '/who' })
      who() {
        return 'base'
      }
    }
    @M('override')
    class Sub extends Base {
      @Route({ path: '/who' })
      who() {
        return 'sub'
      }
    }
    void Sub
    expect(await (await engine.request('/who')).text()).toBe('sub')
  })
})
