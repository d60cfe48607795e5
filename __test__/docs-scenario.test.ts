// The docs' scenario: Cache(400), RateLimit(100), Log(200), Auth(100) registered
// in that order run RateLimit → Auth → Log → Cache → handler → Cache → Log → Auth → RateLimit.
import { describe, it, expect, afterEach } from 'vitest'
import { Microservice, Module, Route, Factory, RoutePlugin, PluginPriority } from '../index.js'

const EXPECTED = ['RateLimit', 'Auth', 'Log', 'Cache', 'handler', 'Cache after', 'Log after', 'Auth after', 'RateLimit after']

/** One docs-style plugin: wraps every handler and logs around next(). */
function docsPlugin(log: string[], name: string, priority: number) {
  return {
    name: `${name.toLowerCase()}-plugin`,
    priority,
    onHandlerLoad(handlers: any[]) {
      for (const h of handlers) {
        h.wrap(async (next: () => Promise<unknown>) => {
          log.push(name)
          const out = await next()
          log.push(`${name} after`)
          return out
        })
      }
    },
  }
}

/** The four plugins in the docs' registration order. */
function docsPlugins(log: string[]) {
  return [
    docsPlugin(log, 'Cache', PluginPriority.PERFORMANCE), // 400
    docsPlugin(log, 'RateLimit', PluginPriority.SECURITY), // 100
    docsPlugin(log, 'Log', PluginPriority.LOGGING), // 200
    docsPlugin(log, 'Auth', PluginPriority.SECURITY), // 100
  ]
}

const log: string[] = []

@Module('scenario')
class ScenarioService {
  @Route({ path: '/scenario' })
  hello() {
    log.push('handler')
    return { hello: 'world' }
  }
}

/** The docs API: `new Microservice(...).plugin(...)`, RoutePlugin comes by default. */
function docsEngine() {
  const engine = new Microservice({ name: 'docs', version: '1.0.0', modules: [ScenarioService] })
  for (const p of docsPlugins(log)) engine.plugin(p)
  return engine
}

let running: any
afterEach(async () => {
  log.length = 0
  if (running) await running.stop()
  running = undefined
})

describe("the docs' plugin scenario", () => {
  it('orders the layers by priority via engine.handler()', async () => {
    const engine = docsEngine()
    await expect(engine.handler(ScenarioService, 'hello')()).resolves.toEqual({ hello: 'world' })
    expect(log).toEqual(EXPECTED)
  })

  it('orders the layers by priority for an in-process HTTP request (engine.request)', async () => {
    const engine = docsEngine()
    const res = await engine.request('/scenario')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ hello: 'world' })
    expect(log).toEqual(EXPECTED)
  })

  it('orders the layers by priority for a request over a real socket', async () => {
    const engine = docsEngine()
    running = engine
    const port = await engine.start(0)
    const res = await fetch(`http://127.0.0.1:${port}/scenario`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ hello: 'world' })
    expect(log).toEqual(EXPECTED)
    await engine.stop()
    running = undefined
  })

  it('orders the layers the same way with the Factory.create form', async () => {
    const { Module: FModule, Microservice: FMicroservice } = Factory.create(...docsPlugins(log), new RoutePlugin())
    @FModule('scenario')
    class FactoryScenario {
      @Route({ path: '/factory-scenario' })
      hello() {
        log.push('handler')
        return 'hi'
      }
    }
    const engine = new FMicroservice({ name: 'docs', version: '1.0.0' })
    const res = await engine.request('/factory-scenario')
    expect(await res.text()).toBe('hi')
    expect(log).toEqual(EXPECTED)
    log.length = 0
    await engine.handler(FactoryScenario, 'hello')()
    expect(log).toEqual(EXPECTED)
  })

  it('runs each layer exactly once per request, request after request', async () => {
    const engine = docsEngine()
    await engine.request('/scenario')
    await engine.request('/scenario')
    expect(log).toEqual([...EXPECTED, ...EXPECTED])
  })
})
