// What a native error tells JavaScript: `code` says whose fault it is. Bad input
// (an unknown plugin, an option out of range, a bad argument) throws with
// code 'InvalidArg'; a failure at run time (a store nobody answers on) with
// 'GenericFailure'. The message is the core's text, unchanged.
import { describe, it, expect, afterEach } from 'vitest'
import { createRequire } from 'node:module'
import { Testing, RoutePlugin } from '../index.js'
import { CachePlugin, Cache, RedisCacheAdapter } from '../lib/plugins/cache.js'
import { freePort } from './helpers/servers'

const require = createRequire(import.meta.url)
const binding = require('../lib/native.js')

/** The error `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn()
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected a throw')
}

describe('native errors carry their kind', () => {
  it('bad plugin options and names are InvalidArg, with the core text', () => {
    const native = new binding.NativeEngine({})
    const range = thrown(() => native.createPlugin('rate_limit', { maxRequests: 0 }))
    expect(range.code).toBe('InvalidArg')
    expect(range.message).toBe('maxRequests must be an integer from 1 to 1000000000, got 0')
    const unknown = thrown(() => native.createPlugin('nope', {}))
    expect(unknown.code).toBe('InvalidArg')
    expect(unknown.message).toBe('unknown native plugin "nope"')
    const plugin = native.createPlugin('jwt', { algorithm: 'HS256', secret: 'x'.repeat(32) })
    const layer = thrown(() => native.createLayer(plugin, { public: 'yes' }))
    expect(layer.code).toBe('InvalidArg')
    expect(layer.message).toBe('jwt: public must be a boolean')
  })

  it('a plan of plugins without names is InvalidArg', () => {
    const e = thrown(() => binding.planPlugins([{ name: '' }]))
    expect(e.code).toBe('InvalidArg')
    expect(e.message).toMatch(/plugin #0 has no name/)
  })

  it('a store nobody answers on is GenericFailure; a bad argument to it stays InvalidArg', async () => {
    const port = await freePort()
    const native = new binding.NativeEngine({})
    const plugin = native.createPlugin('cache', { store: 'redis', url: `redis://127.0.0.1:${port}`, timeoutMs: 200 })
    const layer = native.createLayer(plugin, { module: 'm', method: 'f' })
    const down = await native.layerCall(layer, 'clear', {}).then(
      () => null,
      (e: Error & { code?: string }) => e,
    )
    expect(down?.code).toBe('GenericFailure')
    expect(down?.message).toBe('redis is unreachable')
    const bad = await native.layerCall(layer, 'get', {}).then(
      () => null,
      (e: Error & { code?: string }) => e,
    )
    expect(bad?.code).toBe('InvalidArg')
    expect(bad?.message).toBe('cache get: key must be a string of 1-4096 characters')
  })
})

describe('through the public API', () => {
  const engines: any[] = []
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.stop()))
  })

  it('CachePlugin.clear() with Redis unreachable rejects with GenericFailure', async () => {
    const port = await freePort()
    const cache = new CachePlugin(new RedisCacheAdapter({ url: `redis://127.0.0.1:${port}`, timeoutMs: 200 }))
    const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), cache] })
    engines.push(engine)
    @Module('down')
    class Down {
      @Cache()
      get() {
        return 1
      }
    }
    expect(await engine.handler(Down, 'get')()).toBe(1)
    await expect(cache.clear()).rejects.toMatchObject({ code: 'GenericFailure', message: 'redis is unreachable' })
  })
})
