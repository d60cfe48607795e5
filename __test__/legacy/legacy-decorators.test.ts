// TypeScript `experimentalDecorators` (legacy form): this folder's tsconfig.json turns them on.
import { describe, it, expect } from 'vitest'
import { Microservice, Module, Handler, Route, Page, Testing, RoutePlugin } from '../../index.js'

const base = { name: 'legacy-test', version: '1.0.0' }

@Module('legacy-global', { routePrefix: '/legacy' })
class LegacyGlobal {
  prefix = 'legacy'
  @Route({ path: '/hello' })
  hello() {
    return `${this.prefix} hello`
  }
  @Page('/page')
  page() {
    return 'legacy page'
  }
}

describe('experimentalDecorators', () => {
  it('are what this file is compiled with (a method decorator gets (target, key, descriptor))', () => {
    const seen: unknown[] = []
    const probe = (...args: any[]) => void seen.push(args.length, typeof args[1], typeof args[2])
    class P {
      @probe
      m() {}
    }
    void P
    expect(seen).toEqual([3, 'string', 'object'])
  })

  it('register a global @Module with @Route and @Page that a `new Microservice` serves', async () => {
    const engine = new Microservice({ ...base, modules: [LegacyGlobal] })
    expect(engine.getModules()).toEqual([expect.objectContaining({ name: 'legacy-global', clazz: LegacyGlobal })])
    expect(await (await engine.request('/legacy/hello')).text()).toBe('legacy hello')
    expect(await (await engine.request('/legacy/page')).text()).toBe('legacy page')
    expect((await engine.request('/legacy/page', { method: 'POST' })).status).toBe(405)
  })

  it('show @Handler metadata to plugins, with the original method', () => {
    const seen: any[] = []
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [{ name: 'spy', onHandlerLoad: (hs: any[]) => seen.push(...hs) }] })
    @M('legacy-jobs')
    class Jobs {
      @Handler({ type: 'custom', options: { n: 1 } })
      job() {}
    }
    const job = Jobs.prototype.job
    engine.getModules()
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ type: 'custom', options: { n: 1 }, methodName: 'job', module: Jobs })
    expect(seen[0].method).toBe(job)
  })

  it('wrap per engine without touching the prototype', async () => {
    const log: string[] = []
    const tag = (t: string) => ({
      name: `tag-${t}`,
      onHandlerLoad: (hs: any[]) => hs.forEach((h) => h.wrap(async (next: any) => (log.push(t), next()))),
    })
    const original = LegacyGlobal.prototype.hello
    const e1 = new Microservice({ ...base, modules: [LegacyGlobal] }).plugin(tag('one'))
    const e2 = new Microservice({ ...base, modules: [LegacyGlobal] }).plugin(tag('two'))
    await expect(e1.handler(LegacyGlobal, 'hello')()).resolves.toBe('legacy hello')
    await expect(e2.handler(LegacyGlobal, 'hello')()).resolves.toBe('legacy hello')
    expect(log).toEqual(['one', 'two'])
    expect(LegacyGlobal.prototype.hello).toBe(original)
  })

  it('bind Factory/Testing @Module classes to their own engine only', async () => {
    const a = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    const b = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @a.Module('mine')
    class Mine {
      @Route({ method: ['GET', 'POST'], path: ['/mine', '/also-mine'] })
      mine() {
        return 'mine'
      }
    }
    expect(a.engine.getModules().map((m: any) => m.clazz)).toEqual([Mine])
    expect(b.engine.getModules()).toEqual([])
    expect((await a.engine.request('/also-mine', { method: 'POST' })).status).toBe(200)
    expect((await b.engine.request('/mine')).status).toBe(404)
  })

  it('find a decorated method declared on a base class', async () => {
    const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    class Base {
      @Route({ path: '/legacy-base' })
      fromBase() {
        return 'from base'
      }
    }
    @M('legacy-child')
    class Child extends Base {}
    void Child
    expect(await (await engine.request('/legacy-base')).text()).toBe('from base')
  })
})
