// JsvmPlugin as a user sees it: hook files served by QuickJS runtimes in Rust
// (never by Node), inside the native plugins' layers; events both ways;
// reload in process; limits; admin endpoints.
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { JsvmPlugin, RateLimitPlugin, JwtAuthPlugin, MetricsPlugin } from '../index.js'
import { setup, listen, stopAll, deferred } from './helpers/http'
import { signJwt, now } from './helpers/jwt'

const dirs: string[] = []
afterEach(async () => {
  await stopAll()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const ADMIN = 'admin-token-0123456789'
const SECRET = 'a-jsvm-secret-of-at-least-32-bytes!!'

function hooksDir(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'nebula-hooks-'))
  dirs.push(dir)
  for (const [name, code] of Object.entries(files)) writeFileSync(join(dir, name), code)
  return dir
}

async function app(files: Record<string, string>, options: Record<string, unknown> = {}, plugins: unknown[] = []) {
  const dir = hooksDir(files)
  const plugin = new JsvmPlugin({ hooksDir: dir, poolSize: 2, timeoutMs: 500, adminToken: ADMIN, ...options })
  const { engine } = setup({ plugins: [...plugins, plugin] })
  const { base } = await listen(engine)
  return { engine, base, dir }
}

const HELLO = `
const greeting = 'hello'
routerAdd('GET', '/api/hello/:name', (e) => e.json(200, { [greeting]: e.request.param('name'), q: e.request.query('q') ?? null }))
routerAdd('POST', '/api/echo', (e) => e.json(201, { got: e.request.json(), key: e.request.header('x-key') ?? null }))
`

describe('hook routes', () => {
  it('a hook path asked with another method → 405 JSON with Allow', async () => {
    const { engine, base } = await app({ 'hello.pb.js': HELLO })
    const res = await fetch(`${base}/api/hello/ann`, { method: 'PUT' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD')
    expect((await res.json()).message).toMatch(/PUT is not allowed on \/api\/hello\/ann/)
    expect((await fetch(`${base}/api/nowhere`, { method: 'PUT' })).status).toBe(404)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('are answered by QuickJS in Rust: Node is never called', async () => {
    const { engine, base } = await app({ 'hello.pb.js': HELLO })
    const res = await fetch(`${base}/api/hello/ann?q=1`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ hello: 'ann', q: '1' })
    const echo = await fetch(`${base}/api/echo`, { method: 'POST', headers: { 'x-key': 'k' }, body: '{"a":1}' })
    expect(echo.status).toBe(201)
    expect(await echo.json()).toEqual({ got: { a: 1 }, key: 'k' })
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('run inside the native plugins: rate limit, JWT and metrics apply', async () => {
    const { base } = await app({ 'hello.pb.js': HELLO }, {}, [
      new MetricsPlugin(),
      new RateLimitPlugin({ maxRequests: 2, windowMs: 60_000 }),
      new JwtAuthPlugin({ algorithm: 'HS256', secret: SECRET }),
    ])
    expect((await fetch(`${base}/api/hello/x`)).status).toBe(401)
    const token = signJwt({ sub: 'u', exp: now() + 60 }, { key: SECRET })
    const auth = { headers: { authorization: `Bearer ${token}` } }
    expect((await fetch(`${base}/api/hello/x`, auth)).status).toBe(200)
    expect((await fetch(`${base}/api/hello/x`, auth)).status).toBe(429) // the 401 counted too
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toContain('route="/api/hello/:name"')
  })

  it('onRequest and routerUse chains stop without e.next()', async () => {
    const { base } = await app({
      'a.pb.js': `
        routerUse((e) => { if (!e.request.header('x-key')) return e.json(401, { error: 'no key' }); return e.next() })
        onRequest((e) => { e.request.header('x-stop') ? null : e.next() }, 5)
        routerAdd('GET', '/api/guarded', (e) => e.string(200, 'in'))
      `,
    })
    expect((await fetch(`${base}/api/guarded`)).status).toBe(401)
    const ok = await fetch(`${base}/api/guarded`, { headers: { 'x-key': '1' } })
    expect(await ok.text()).toBe('in')
  })
})

describe('limits', () => {
  it('a runaway script gets a 503 within the deadline while other routes keep answering', async () => {
    const { base, engine } = await app({
      'bad.pb.js': `routerAdd('GET', '/api/spin', () => { while (true) {} })`,
      'hello.pb.js': HELLO,
    })
    const spinning = fetch(`${base}/api/spin`)
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/api/hello/x`)).status).toBe(200)
    const res = await spinning
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ error: 'Service Unavailable' })
    expect((await fetch(`${base}/api/hello/after`)).status).toBe(200)
    expect(engine.jsvm.stats().timeouts).toBeGreaterThanOrEqual(1)
  })
})

describe('events and reload', () => {
  it('engine.jsvm.emit reaches app.on, and events.emit reaches engine.jsvm.on', async () => {
    const { engine } = await app({
      'ev.pb.js': `app.on('ping', (e) => { events.emit('pong', { n: e.data.n + 1 }); return e.next() })`,
    })
    const got = deferred<any>()
    engine.jsvm.on('pong', (data: any) => got.resolve(data))
    engine.jsvm.emit('ping', { n: 1 })
    expect(await got.promise).toEqual({ n: 2 })
  })

  it('reload() picks up new files, and a broken file keeps the old generation', async () => {
    const { engine, base, dir } = await app({ 'hello.pb.js': HELLO })
    writeFileSync(join(dir, 'more.pb.js'), `routerAdd('GET', '/api/more', (e) => e.json(200, { more: true }))`)
    const generation = await engine.jsvm.reload()
    expect(generation).toBe(2)
    expect(await (await fetch(`${base}/api/more`)).json()).toEqual({ more: true })
    writeFileSync(join(dir, 'broken.pb.js'), `routerAdd('GET', '/api/broken', (e) => {`)
    await expect(engine.jsvm.reload()).rejects.toThrow(/broken\.pb\.js/)
    expect((await fetch(`${base}/api/more`)).status).toBe(200)
    expect(engine.jsvm.stats().lastReloadError).toMatchObject({ file: expect.stringContaining('broken.pb.js') })
    expect(existsSync(join(dir, 'types.d.ts'))).toBe(true)
  })
})

describe('lifecycle', () => {
  it('an engine that never listened still stops its VM (onTerminate runs); reload() before start rejects', async () => {
    const dir = hooksDir({
      'hello.pb.js': HELLO,
      'bye.pb.js': `onTerminate((e) => { events.emit('bye', { ok: true }); return e.next() })`,
    })
    const plugin = new JsvmPlugin({ hooksDir: dir, poolSize: 1 })
    await expect(plugin.jsvm.reload()).rejects.toThrow(/started/)
    const { engine } = setup({ plugins: [plugin] })
    const bye = deferred<any>()
    engine.jsvm.on('bye', (data: any) => bye.resolve(data))
    const res = await engine.request('/api/hello/ann')
    expect(res.status).toBe(200)
    await engine.stop()
    expect(await bye.promise).toEqual({ ok: true })
  })
})

describe('admin endpoints and options', () => {
  it('are guarded by the admin token', async () => {
    const { base } = await app({ 'hello.pb.js': HELLO })
    expect((await fetch(`${base}/admin/jsvm/stats`)).status).toBe(401)
    const auth = { headers: { authorization: `Bearer ${ADMIN}` } }
    const stats = await (await fetch(`${base}/admin/jsvm/stats`, auth)).json()
    expect(stats).toMatchObject({ generation: 1, poolSize: 2 })
    const hooks = await (await fetch(`${base}/admin/hooks`, auth)).json()
    expect(JSON.stringify(hooks)).toContain('/api/hello/:name')
  })

  it('bad options throw a TypeError naming the option', () => {
    expect(() => new JsvmPlugin({ hooksDir: '/x', poolSize: 0 } as any)).toThrow(/poolSize/)
    expect(() => new JsvmPlugin({ hooksDir: '/x', timeoutMs: 'soon' } as any)).toThrow(/timeoutMs/)
    expect(() => new JsvmPlugin({ hooksDir: '/x', adminToken: 'short' })).toThrow(/adminToken/)
    expect(() => new JsvmPlugin({ hooksDir: '/x', colour: 'blue' } as any)).toThrow(/colour/)
  })
})
