// A native layer run from the JS chain (a TypeScript layer sits outside it)
// hands the answer's headers back as a record: any header name is a header,
// including names an object's prototype has (`constructor`, `__proto__`).
import { afterEach, describe, expect, it } from 'vitest'
import { HttpResponse, PluginPriority, Route, RoutePlugin, Testing } from '../index.js'
import { CorsPlugin } from '../lib/plugins/cors.js'

const engines: any[] = []
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

describe('a native layer run from the JS chain', () => {
  it('passes headers named like Object.prototype members through unchanged', async () => {
    const seen: string[] = []
    const outer = {
      name: 'outer',
      priority: PluginPriority.SYSTEM,
      onHandlerLoad(hs: any[]) {
        for (const h of hs) if (h.type === 'route') h.wrap(async (next: any) => (seen.push('outer'), next()))
      },
    }
    const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), new CorsPlugin({ origins: '*' }), outer] })
    engines.push(engine)
    @Module('h')
    class H {
      @Route({ path: '/h' })
      h() {
        const headers: Record<string, string> = { constructor: 'c', 'x-plain': 'p' }
        Object.defineProperty(headers, '__proto__', { value: 'q', enumerable: true })
        Object.defineProperty(headers, 'tostring', { value: 't', enumerable: true })
        return new HttpResponse({ ok: true }, 200, headers)
      }
    }
    const res = await engine.request('/h', { headers: { origin: 'https://a.example' } })
    expect(res.status).toBe(200)
    expect(seen).toEqual(['outer'])
    expect(res.headers.get('constructor')).toBe('c')
    expect(res.headers.get('__proto__')).toBe('q')
    expect(res.headers.get('x-plain')).toBe('p')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(await res.json()).toEqual({ ok: true })
    expect(H).toBeDefined()
  })
})
