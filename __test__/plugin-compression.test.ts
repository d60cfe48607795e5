// CompressionPlugin: gzip / brotli in Rust for answers over the threshold
// that the client accepts; Vary; overrides; validation.
import zlib from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { Route, PluginPriority, ModuleConfigValidationError } from '../index.js'
import { CompressionPlugin } from '../lib/plugins/compression.js'
import { CorsPlugin } from '../lib/plugins/cors.js'
import { setup, listen, stopAll, rawRequest, type Ctx } from './helpers/http'

afterEach(stopAll)

/** ~20 KB of JSON that compresses well. */
const ITEMS = Array.from({ length: 300 }, (_, i) => ({ id: i, name: `item number ${i}`, tags: ['a', 'b'], active: i % 3 === 0 }))
const ITEMS_JSON = JSON.stringify(ITEMS)

function app(options: Record<string, unknown> = {}, { plugins = [] as unknown[], moduleOptions = {} } = {}) {
  const { Module, engine } = setup({ plugins: [...plugins, new CompressionPlugin(options)] })
  @Module('data', moduleOptions)
  class Data {
    @Route({ path: '/items' })
    items() {
      return ITEMS
    }

    @Route({ path: '/small' })
    small() {
      return { ok: true }
    }

    @Route({ path: '/png' })
    png() {
      return Buffer.alloc(8192, 7)
    }

    @Route({ path: '/vary' })
    vary(ctx: Ctx) {
      ctx.header('vary', 'Accept-Language')
      return ctx.text('x'.repeat(5000))
    }

    @Route({ path: '/raw', compression: false })
    raw() {
      return ITEMS
    }

    @Route({ path: '/lowered', compression: { threshold: 100 } })
    lowered(ctx: Ctx) {
      return ctx.text('a'.repeat(200))
    }
  }
  return engine
}

const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer())

describe('compression', () => {
  it('gzips a big JSON answer for accept-encoding: gzip (node:zlib decompresses it to the original)', async () => {
    const engine = app()
    const res = await engine.request('/items', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(res.headers.get('vary')).toBe('Accept-Encoding')
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = await bytes(res)
    expect(body.length).toBeLessThan(ITEMS_JSON.length / 4)
    expect(JSON.parse(zlib.gunzipSync(body).toString('utf8'))).toEqual(ITEMS)
  })

  it('uses brotli when the client accepts it (server preference br, gzip)', async () => {
    const engine = app()
    const res = await engine.request('/items', { headers: { 'accept-encoding': 'gzip, deflate, br' } })
    expect(res.headers.get('content-encoding')).toBe('br')
    expect(zlib.brotliDecompressSync(await bytes(res)).toString('utf8')).toBe(ITEMS_JSON)
  })

  it('honours q-values and the server order', async () => {
    const engine = app({ encodings: ['gzip', 'br'], level: 9 })
    const pref = await engine.request('/items', { headers: { 'accept-encoding': 'br, gzip' } })
    expect(pref.headers.get('content-encoding')).toBe('gzip')
    const q = await engine.request('/items', { headers: { 'accept-encoding': 'gzip;q=0, br;q=0.5' } })
    expect(q.headers.get('content-encoding')).toBe('br')
    expect(zlib.brotliDecompressSync(await bytes(q)).toString('utf8')).toBe(ITEMS_JSON)
  })

  it('leaves a body under the threshold alone', async () => {
    const engine = app()
    const res = await engine.request('/small', { headers: { 'accept-encoding': 'gzip, br' } })
    expect(res.headers.get('content-encoding')).toBeNull()
    expect(res.headers.get('vary')).toBeNull()
    expect(await res.json()).toEqual({ ok: true })
  })

  it('leaves the body alone without accept-encoding, but says Vary: Accept-Encoding', async () => {
    const engine = app()
    for (const headers of [{}, { 'accept-encoding': 'identity' }, { 'accept-encoding': 'gzip;q=0, br;q=0' }]) {
      const res = await engine.request('/items', { headers })
      expect(res.headers.get('content-encoding')).toBeNull()
      expect(res.headers.get('vary')).toBe('Accept-Encoding')
      expect(await res.text()).toBe(ITEMS_JSON)
    }
  })

  it('does not compress incompressible types', async () => {
    const engine = app()
    const res = await engine.request('/png', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers.get('content-encoding')).toBeNull()
    expect((await bytes(res)).equals(Buffer.alloc(8192, 7))).toBe(true)
  })

  it("appends Accept-Encoding to the handler's Vary", async () => {
    const engine = app()
    const res = await engine.request('/vary', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers.get('vary')).toBe('Accept-Language, Accept-Encoding')
    expect(zlib.gunzipSync(await bytes(res)).toString()).toBe('x'.repeat(5000))
  })

  it('sends a correct Content-Length for the compressed body over a real socket', async () => {
    const engine = app()
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'GET', '/items', { headers: { 'Accept-Encoding': 'gzip' } })
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(Number(res.headers['content-length'])).toBe(res.body.length)
    expect(zlib.gunzipSync(res.body).toString('utf8')).toBe(ITEMS_JSON)
    const br = await rawRequest(port, 'GET', '/items', { headers: { 'Accept-Encoding': 'br' } })
    expect(zlib.brotliDecompressSync(br.body).toString('utf8')).toBe(ITEMS_JSON)
    expect(engine.stats().jsCalls).toBe(2)
  })

  it('shares Vary with CorsPlugin', async () => {
    const engine = app({}, { plugins: [new CorsPlugin({ origins: ['https://a.test'] })] })
    const res = await engine.request('/items', { headers: { 'accept-encoding': 'gzip', origin: 'https://a.test' } })
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(res.headers.get('access-control-allow-origin')).toBe('https://a.test')
    expect(
      res.headers
        .get('vary')!
        .split(/\s*,\s*/)
        .sort(),
    ).toEqual(['Accept-Encoding', 'Origin'])
  })

  it('still works inside a TypeScript layer (run from the JS chain)', async () => {
    const outer = {
      name: 'outer-ts',
      priority: PluginPriority.LOGGING,
      onHandlerLoad(hs: any[]) {
        for (const h of hs) h.wrap(async (next: () => Promise<unknown>) => next())
      },
    }
    const engine = app({}, { plugins: [outer] })
    const res = await engine.request('/items', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(zlib.gunzipSync(await bytes(res)).toString('utf8')).toBe(ITEMS_JSON)
  })
})

describe('per-module and per-route options', () => {
  it('turns compression off for a route with compression: false', async () => {
    const engine = app()
    const res = await engine.request('/raw', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers.get('content-encoding')).toBeNull()
    expect(res.headers.get('vary')).toBeNull()
    expect(await res.json()).toEqual(ITEMS)
  })

  it('lets a route lower the threshold', async () => {
    const engine = app({ encodings: ['gzip'] })
    const res = await engine.request('/lowered', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(zlib.gunzipSync(await bytes(res)).toString()).toBe('a'.repeat(200))
  })

  it('lets a module change the options, or turn compression off', async () => {
    const gzipOnly = app({}, { moduleOptions: { compression: { encodings: ['gzip'] } } })
    const res = await gzipOnly.request('/items', { headers: { 'accept-encoding': 'br, gzip' } })
    expect(res.headers.get('content-encoding')).toBe('gzip')
    const off = app({}, { moduleOptions: { compression: false } })
    const none = await off.request('/items', { headers: { 'accept-encoding': 'gzip' } })
    expect(none.headers.get('content-encoding')).toBeNull()
  })

  it('rejects invalid module options with ModuleConfigValidationError', () => {
    const engine = app({}, { moduleOptions: { compression: { level: 12 } } })
    expect(() => engine.getModules()).toThrow(ModuleConfigValidationError)
  })
})

describe('options', () => {
  it.each([
    [{ threshold: -1 }, /threshold must be a non-negative integer/],
    [{ threshold: '1kb' }, /threshold/],
    [{ encodings: [] }, /encodings must not be empty/],
    [{ encodings: 'gzip' }, /encodings must be an array/],
    [{ encodings: ['deflate'] }, /encodings\[0\] must be "br" or "gzip"/],
    [{ encodings: ['gzip', 'gzip'] }, /encodings\[1\] repeats "gzip"/],
    [{ level: 0 }, /level must be an integer from 1 to 9/],
    [{ level: 10 }, /level/],
    [{ level: 4.5 }, /level/],
    [{ treshold: 10 }, /unknown option "treshold"/],
  ])('rejects %j with a TypeError naming the option', (options, message) => {
    expect(() => new CompressionPlugin(options as any)).toThrow(TypeError)
    expect(() => new CompressionPlugin(options as any)).toThrow(message)
  })

  it('has its name and priority, and drops undefined options', () => {
    const p = new CompressionPlugin({ threshold: undefined, encodings: ['gzip'] })
    expect(p.name).toBe('compression')
    expect(p.priority).toBe(PluginPriority.PERFORMANCE)
    expect(p.options).toEqual({ encodings: ['gzip'] })
  })
})
