// CorsPlugin: preflights answered in Rust (no JS call), Access-Control-*
// headers on answers for allowed origins, Vary, overrides, validation.
import { afterEach, describe, expect, it } from 'vitest'
import { Route, HttpError, PluginPriority, ModuleConfigValidationError } from '../index.js'
import { CorsPlugin } from '../lib/plugins/cors.js'
import { setup, listen, stopAll, rawRequest, type Ctx } from './helpers/http'

afterEach(stopAll)

const APP = 'https://app.example.com'

/** An engine with CorsPlugin(options) and a module with a GET-only route. */
function app(options: Record<string, unknown> = {}, { plugins = [] as unknown[], moduleOptions = {} } = {}) {
  const { Module, engine } = setup({ plugins: [...plugins, new CorsPlugin(options)] })
  @Module('items', moduleOptions)
  class Items {
    @Route({ path: '/items' })
    list() {
      return [{ id: 1 }]
    }

    @Route({ method: 'POST', path: '/items' })
    create() {
      return { created: true }
    }

    @Route({ path: '/vary' })
    vary(ctx: Ctx) {
      ctx.header('vary', 'Accept')
      return 'ok'
    }

    @Route({ path: '/teapot' })
    teapot() {
      throw new HttpError(418, 'short and stout')
    }

    @Route({ path: '/open', cors: false })
    open() {
      return 'no cors here'
    }

    @Route({ path: '/partner', cors: { origins: ['https://partner.test'], credentials: false } })
    partner() {
      return 'partner'
    }
  }
  return engine
}

const preflight = (origin: string, method = 'GET', headers: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': method, ...headers },
})

const corsHeaders = (res: Response) => [...res.headers.keys()].filter((k) => k.startsWith('access-control-'))

describe('preflight (answered in Rust)', () => {
  it('answers a preflight to a GET-only route with 204 and the CORS headers, without calling JS', async () => {
    const engine = app({ origins: ['https://*.example.com'], credentials: true, maxAge: 600 })
    const res = await engine.request('/items', preflight(APP, 'GET', { 'access-control-request-headers': 'content-type, x-request-id' }))
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD, PUT, PATCH, POST, DELETE')
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type, x-request-id')
    expect(res.headers.get('access-control-max-age')).toBe('600')
    expect(res.headers.get('vary')).toBe('Origin, Access-Control-Request-Method, Access-Control-Request-Headers')
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('uses the configured methods and headers lists', async () => {
    const engine = app({ methods: ['GET', 'POST'], allowedHeaders: ['Content-Type', 'Authorization'] })
    const res = await engine.request('/items', preflight(APP, 'POST', { 'access-control-request-headers': 'x-other' }))
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST')
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type, Authorization')
    expect(res.headers.get('access-control-allow-credentials')).toBeNull()
    expect(res.headers.get('access-control-max-age')).toBeNull()
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('answers a preflight from a refused origin with a bare 204 (the browser then refuses)', async () => {
    const engine = app({ origins: [APP] })
    const res = await engine.request('/items', preflight('https://evil.test', 'POST'))
    expect(res.status).toBe(204)
    expect(corsHeaders(res)).toEqual([])
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('answers preflights over a real socket', async () => {
    const engine = app({ origins: [APP], maxAge: 60 })
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'OPTIONS', '/items', {
      headers: { Origin: APP, 'Access-Control-Request-Method': 'GET' },
    })
    expect(res.status).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe(APP)
    expect(res.headers['access-control-max-age']).toBe('60')
    expect(res.body.length).toBe(0)
    expect(engine.stats().jsCalls).toBe(0)
  })
})

describe('actual requests', () => {
  it('adds Allow-Origin, Allow-Credentials, Expose-Headers and Vary for an allowed origin', async () => {
    const engine = app({ origins: [APP, 'http://localhost:3000'], credentials: true, exposedHeaders: ['X-Total'] })
    const res = await engine.request('/items', { headers: { origin: APP } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual([{ id: 1 }])
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('access-control-expose-headers')).toBe('X-Total')
    expect(res.headers.get('access-control-allow-methods')).toBeNull()
    expect(res.headers.get('vary')).toBe('Origin')
    expect(engine.stats().jsCalls).toBe(1)
  })

  it('adds only Vary: Origin for a refused or absent origin', async () => {
    const engine = app({ origins: [APP] })
    for (const headers of [{ origin: 'https://evil.test' }, {}]) {
      const res = await engine.request('/items', { headers })
      expect(res.status).toBe(200)
      expect(corsHeaders(res)).toEqual([])
      expect(res.headers.get('vary')).toBe('Origin')
    }
  })

  it('sends * for origins "*" (no Vary), and echoes the origin when credentials are on', async () => {
    const star = app({ origins: '*' })
    const res = await star.request('/items', { method: 'POST', headers: { origin: 'https://x.test' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('vary')).toBeNull()
    const creds = app({ credentials: true })
    const echoed = await creds.request('/items', { headers: { origin: 'https://x.test' } })
    expect(echoed.headers.get('access-control-allow-origin')).toBe('https://x.test')
    expect(echoed.headers.get('access-control-allow-credentials')).toBe('true')
    expect(echoed.headers.get('vary')).toBe('Origin')
  })

  it("appends to the handler's Vary instead of replacing it", async () => {
    const engine = app({ origins: [APP] })
    const res = await engine.request('/vary', { headers: { origin: APP } })
    expect(res.headers.get('vary')).toBe('Accept, Origin')
  })

  it('dresses error answers too, so the browser lets the page read them', async () => {
    const engine = app({ origins: [APP] })
    const res = await engine.request('/teapot', { headers: { origin: APP } })
    expect(res.status).toBe(418)
    expect((await res.json()).message).toBe('short and stout')
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it('works over a real socket', async () => {
    const engine = app({ origins: ['https://*.example.com'] })
    const { port } = await listen(engine)
    const res = await rawRequest(port, 'GET', '/items', { headers: { Origin: 'https://a.b.example.com' } })
    expect(res.status).toBe(200)
    expect(res.headers['access-control-allow-origin']).toBe('https://a.b.example.com')
    expect(res.headers.vary).toBe('Origin')
    const refused = await rawRequest(port, 'GET', '/items', { headers: { Origin: 'https://example.com.evil.test' } })
    expect(refused.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('still works inside a TypeScript layer (run from the JS chain)', async () => {
    const seen: string[] = []
    const outer = {
      name: 'outer-ts',
      priority: PluginPriority.SYSTEM,
      onHandlerLoad(hs: any[]) {
        for (const h of hs) h.wrap(async (next: () => Promise<unknown>) => (seen.push(h.methodName), next()))
      },
    }
    const engine = app({ origins: [APP] }, { plugins: [outer] })
    const res = await engine.request('/items', { headers: { origin: APP } })
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('vary')).toBe('Origin')
    expect(seen).toEqual(['list'])
    expect(engine.stats().jsCalls).toBe(1)
  })
})

describe('per-module and per-route options', () => {
  it('turns CORS off for a route with cors: false', async () => {
    const engine = app({ origins: [APP] })
    const res = await engine.request('/open', { headers: { origin: APP } })
    expect(await res.text()).toBe('no cors here')
    expect(corsHeaders(res)).toEqual([])
    expect(res.headers.get('vary')).toBeNull()
  })

  it('lets a route override the origins', async () => {
    const engine = app({ origins: [APP], credentials: true })
    const partner = await engine.request('/partner', { headers: { origin: 'https://partner.test' } })
    expect(partner.headers.get('access-control-allow-origin')).toBe('https://partner.test')
    expect(partner.headers.get('access-control-allow-credentials')).toBeNull()
    const app1 = await engine.request('/partner', { headers: { origin: APP } })
    expect(app1.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('lets a module override options, and turn CORS off', async () => {
    const engine = app({ origins: [APP] }, { moduleOptions: { cors: { origins: ['https://other.test'] } } })
    const res = await engine.request('/items', { headers: { origin: 'https://other.test' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('https://other.test')
    const off = app({ origins: [APP] }, { moduleOptions: { cors: false } })
    const none = await off.request('/items', { headers: { origin: APP } })
    expect(corsHeaders(none)).toEqual([])
  })

  it('rejects invalid module options with ModuleConfigValidationError', () => {
    const engine = app({}, { moduleOptions: { cors: { maxAge: -5 } } })
    expect(() => engine.getModules()).toThrow(ModuleConfigValidationError)
    expect(() => app({}, { moduleOptions: { cors: 'yes' } }).getModules()).toThrow(/cors must be false, true or an object/)
  })
})

describe('options', () => {
  it.each([
    [{ origins: 'https://a.test' }, /origins must be "\*" or an array/],
    [{ origins: ['https://a.test/'] }, /origins\[0\] .* is not an origin/],
    [{ origins: ['a.test'] }, /origins\[0\]/],
    [{ origins: ['https://*.com'] }, /origins\[0\] .* not a valid pattern/],
    [{ origins: ['https://a.*.test'] }, /not a valid pattern/],
    [{ origins: ['*'] }, /origins\[0\] is "\*"/],
    [{ origins: [42] }, /origins\[0\] must be a string/],
    [{ methods: [] }, /methods must not be empty/],
    [{ methods: ['GE T'] }, /methods\[0\]/],
    [{ allowedHeaders: 'Content-Type' }, /allowedHeaders must be an array/],
    [{ exposedHeaders: ['X Y'] }, /exposedHeaders\[0\]/],
    [{ credentials: 'true' }, /credentials must be a boolean/],
    [{ maxAge: -1 }, /maxAge must be a non-negative integer/],
    [{ maxAge: 1.5 }, /maxAge/],
    [{ origin: '*' }, /unknown option "origin"/],
  ])('rejects %j with a TypeError naming the option', (options, message) => {
    expect(() => new CorsPlugin(options as any)).toThrow(TypeError)
    expect(() => new CorsPlugin(options as any)).toThrow(message)
  })

  it('accepts the documented forms, treats undefined as the default, and has name and priority', () => {
    const p = new CorsPlugin({
      origins: ['https://app.example.com', 'https://*.example.com', 'http://localhost:3000', 'null'],
      methods: ['GET'],
      allowedHeaders: ['Content-Type'],
      exposedHeaders: [],
      credentials: true,
      maxAge: 0,
      // undefined takes the default
      ...({ maxAge: undefined } as object),
    })
    expect(p.name).toBe('cors')
    expect(p.priority).toBe(PluginPriority.SECURITY)
    expect(p.options).not.toHaveProperty('maxAge')
    expect(new CorsPlugin().options).toEqual({})
  })
})
