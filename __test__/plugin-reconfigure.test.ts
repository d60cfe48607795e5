// plugin.reconfigure(options): a native plugin's options change while the
// engine serves. Every route's layer changes at once (TS routes and routes
// answered in Rust, like the gateway's), invalid options change nothing, and
// a plugin serving endpoints of its own (metrics) refuses.
import { afterEach, describe, expect, it } from 'vitest'
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import { Route, RateLimitPlugin, CorsPlugin, MetricsPlugin, ServicesPlugin } from '../index.js'
import { setup, listen, stopAll } from './helpers/http'
import { eventually } from './helpers/wait'

afterEach(stopAll)

const NODE = [process.execPath, path.join(__dirname, 'fixtures', 'workers', 'echo.js')]

async function app(plugins: any[]) {
  const services = new ServicesPlugin({
    services: [{ name: 'node', command: NODE, routes: ['/svc/*'] }],
    runtimeDir: fs.mkdtempSync(path.join(os.tmpdir(), 'nbgw-')),
  })
  const { Module, engine } = setup({ plugins: [...plugins, services] })
  @Module('api')
  class Api {
    @Route({ path: '/a' })
    a() {
      return { ok: 'a' }
    }

    @Route({ path: '/free', rateLimit: false })
    free() {
      return 'free'
    }
  }
  void Api
  const { base } = await listen(engine)
  await eventually('the worker is ready', () => services.status().services[0].ready === 1)
  return { engine, base }
}

const statuses = async (url: string, n: number) => {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await fetch(url)).status)
  return out
}

describe('plugin.reconfigure()', () => {
  it('changes a rate limit on every route at once, the gateway routes too', async () => {
    const limit = new RateLimitPlugin({ maxRequests: 2, windowMs: 60_000 })
    const { base, engine } = await app([limit])
    expect(await statuses(`${base}/a`, 3)).toEqual([200, 200, 429])
    limit.reconfigure({ maxRequests: 4, windowMs: 60_000 })
    expect(limit.options.maxRequests).toBe(4)
    const res = await fetch(`${base}/a`)
    expect(res.status).toBe(200)
    expect(res.headers.get('ratelimit-limit')).toBe('4')
    expect(await statuses(`${base}/a`, 4)).toEqual([200, 200, 200, 429])
    // The routes answered in Rust (the gateway's) share the global limit too.
    const svc = await fetch(`${base}/svc/x`)
    expect(svc.headers.get('ratelimit-limit')).toBe('4')
    // A route that opted out stays out.
    expect(await statuses(`${base}/free`, 6)).toEqual([200, 200, 200, 200, 200, 200])
    expect(engine.stats().jsCalls).toBeGreaterThan(0)
  })

  it('rejects invalid options with a TypeError naming the option, changing nothing', async () => {
    const limit = new RateLimitPlugin({ maxRequests: 1, windowMs: 60_000 })
    const { base } = await app([limit])
    expect(() => limit.reconfigure({ maxRequests: 'many' })).toThrow(/RateLimitPlugin: maxRequests must be an integer/)
    expect(() => limit.reconfigure({ nope: 1 })).toThrow(/unknown option "nope"/)
    expect(limit.options.maxRequests).toBe(1)
    expect(await statuses(`${base}/a`, 2)).toEqual([200, 429])
  })

  it('changes the allowed CORS origin', async () => {
    const cors = new CorsPlugin({ origins: ['https://a.example'] })
    const { base } = await app([cors])
    const ask = async (origin: string) => (await fetch(`${base}/a`, { headers: { origin } })).headers.get('access-control-allow-origin')
    expect(await ask('https://a.example')).toBe('https://a.example')
    cors.reconfigure({ origins: ['https://b.example'] })
    expect(await ask('https://a.example')).toBeNull()
    expect(await ask('https://b.example')).toBe('https://b.example')
    const svc = await fetch(`${base}/svc/x`, { headers: { origin: 'https://b.example' } })
    expect(svc.headers.get('access-control-allow-origin')).toBe('https://b.example')
  })

  it('before start, only takes the options; MetricsPlugin has no reconfigure', async () => {
    const limit = new RateLimitPlugin({ maxRequests: 1, windowMs: 60_000 })
    limit.reconfigure({ maxRequests: 3, windowMs: 60_000 })
    const { base } = await app([limit, new MetricsPlugin()])
    expect(await statuses(`${base}/a`, 4)).toEqual([200, 200, 200, 429])
    expect((new MetricsPlugin() as any).reconfigure).toBeUndefined()
  })
})
