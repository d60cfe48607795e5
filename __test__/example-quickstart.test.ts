// Keeps examples/quickstart runnable: starts it the way `npm start` does and talks to it.
import { describe, expect, it } from 'vitest'
import { startExample } from './helpers/example'

describe('examples/quickstart', () => {
  it('serves its routes and plugins, and stops on SIGTERM', async () => {
    const { child, port: listening, exited } = startExample('quickstart', /listening on http:\/\/localhost:(\d+)/, { API_KEY: 'k' })
    try {
      const port = await listening
      const base = `http://127.0.0.1:${port}`
      expect(await (await fetch(`${base}/api/users`)).json()).toEqual({ users: [{ id: '1', name: 'Ada' }] })
      expect(await (await fetch(`${base}/hello/bob`)).text()).toBe('Hello, bob!')
      const refused = await fetch(`${base}/api/users`, { method: 'POST', body: '{"name":"x"}' })
      expect(refused.status).toBe(401)
      const created = await fetch(`${base}/api/users`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: '{"name":"Linus"}' })
      expect(created.status).toBe(201)
      expect(await created.json()).toEqual({ id: '2', name: 'Linus' })
      const missing = await fetch(`${base}/api/users/99`)
      expect(missing.status).toBe(404)
      expect(await missing.json()).toEqual({ error: 'Not Found', message: 'no user 99' })
      // The native plugins: rate-limit headers, a CORS preflight answered in Rust, Prometheus metrics.
      expect(missing.headers.get('ratelimit-limit')).toBe('100')
      const preflight = await fetch(`${base}/api/users`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
      const metrics = await (await fetch(`${base}/metrics`)).text()
      expect(metrics).toMatch(/nebula_http_requests_total\{method="GET",route="\/api\/users",status="200"\} 1/)
    } finally {
      child.kill('SIGTERM')
      const [code] = await exited
      expect(code).toBe(0)
    }
  })
})
