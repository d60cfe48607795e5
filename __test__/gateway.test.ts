// The gateway (ServicesPlugin) with real worker processes: a Python and a Node
// worker on Unix sockets of their own, requests forwarded in Rust through the
// engine's native layers, timeouts, a worker killed under load, a worker that
// never becomes ready, a rolling restart under load, and stop.
import { afterEach, describe, expect, it } from 'vitest'
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import { ServicesPlugin, JwtAuthPlugin, LoggerPlugin } from '../index.js'
import { setup, listen, stopAll } from './helpers/http'
import { eventually } from './helpers/wait'
import { steadyLoad } from './helpers/load'
import { signJwt, now } from './helpers/jwt'

afterEach(stopAll)

const workers = path.join(__dirname, 'fixtures', 'workers')
const PY = ['python3', path.join(workers, 'echo.py')]
const NODE = [process.execPath, path.join(workers, 'echo.js')]
const runtimeDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'nbgw-'))
const SECRET = 'a-gateway-secret-of-at-least-32-bytes!'

async function gateway(services: any[], plugins: unknown[] = []) {
  const plugin = new ServicesPlugin({ services, runtimeDir: runtimeDir() })
  const { engine } = setup({ plugins: [...plugins, plugin] })
  const { base } = await listen(engine)
  return { engine, plugin, base }
}

const ready = (plugin: ServicesPlugin, name: string, n = 1) =>
  eventually(`${n} ready instance(s) of ${name}`, () => plugin.status().services.find((s) => s.name === name)!.ready >= n)

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('ServicesPlugin', () => {
  it('forwards to a Python and a Node worker in Rust, path and query unchanged unless stripPrefix', async () => {
    const { engine, plugin, base } = await gateway([
      { name: 'py', command: PY, routes: ['/api/py/*'], healthPath: '/health' },
      { name: 'node', command: NODE, routes: ['/api/node/*'], stripPrefix: true },
    ])
    await ready(plugin, 'py')
    await ready(plugin, 'node')
    const res = await fetch(`${base}/api/py/hello?x=1`, { headers: { 'x-request-id': 'req-1' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-worker')).toBe('python')
    const py = await res.json()
    expect(py).toMatchObject({ worker: 'python', method: 'GET', path: '/api/py/hello?x=1' })
    expect(py.headers['x-request-id']).toBe('req-1')
    expect(py.headers['x-forwarded-for']).toBe('127.0.0.1')
    expect(py.headers['x-forwarded-proto']).toBe('http')
    const node = await (await fetch(`${base}/api/node/items/7?y=2`, { method: 'POST', body: 'payload' })).json()
    expect(node).toMatchObject({ worker: 'node', method: 'POST', path: '/items/7?y=2', body: 'payload' })
    // Nobody asked for a request id (no LoggerPlugin, none from the client): none is made up.
    expect(node.headers['x-request-id']).toBeUndefined()
    expect(plugin.status().services.map((s) => s.instances[0].state)).toEqual(['ready', 'ready'])
    // Nothing of a proxied request ran in JavaScript.
    expect(engine.stats().jsCalls).toBe(0)
  })

  it("forwards LoggerPlugin's request id, the one in its access log", async () => {
    const { plugin, base } = await gateway([{ name: 'node', command: NODE, routes: ['/api/node/*'] }], [new LoggerPlugin({ output: 'stderr' })])
    await ready(plugin, 'node')
    const res = await fetch(`${base}/api/node/x`)
    const seen = (await res.json()).headers['x-request-id']
    expect(seen).toEqual(expect.any(String))
    expect(res.headers.get('x-request-id')).toBe(seen)
  })

  it('runs proxied routes inside the native layers: a refused request never reaches the worker', async () => {
    const { plugin, base } = await gateway([{ name: 'py', command: PY, routes: ['/api/py/*'] }], [new JwtAuthPlugin({ secret: SECRET, algorithm: 'HS256' })])
    await ready(plugin, 'py')
    const refused = await fetch(`${base}/api/py/me`)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('x-worker')).toBeNull()
    const token = signJwt({ sub: 'u1', exp: now() + 60 }, { key: SECRET })
    const ok = await fetch(`${base}/api/py/me`, { headers: { authorization: `Bearer ${token}`, 'x-nebula-user': '{"sub":"admin"}' } })
    expect(ok.status).toBe(200)
    const seen = (await ok.json()).headers
    expect(seen.authorization).toBe(`Bearer ${token}`)
    // The verified claims, never the client's own header of that name.
    expect(JSON.parse(seen['x-nebula-user'])).toMatchObject({ sub: 'u1' })
  })

  it('answers 504 JSON when a worker is slower than timeoutMs, and 503 when none is ready', async () => {
    const { plugin, base } = await gateway([
      { name: 'py', command: PY, routes: ['/api/py/*'], timeoutMs: 300 },
      {
        name: 'never',
        command: ['python3', '-c', 'import time; time.sleep(60)'],
        routes: ['/api/never/*'],
        readyTimeoutMs: 300,
        backoff: { initialMs: 10, maxMs: 20 },
        crashLoop: { maxRestarts: 1 },
      },
    ])
    await ready(plugin, 'py')
    const started = Date.now()
    const slow = await fetch(`${base}/api/py/slow`)
    expect(slow.status).toBe(504)
    expect(Date.now() - started).toBeLessThan(1500)
    expect(await slow.json()).toMatchObject({ error: 'Gateway Timeout' })
    const none = await fetch(`${base}/api/never/x`)
    expect(none.status).toBe(503)
    expect(none.headers.get('retry-after')).toBe('1')
    // The worker that never listens: crash-loop limit reached, with a reason; the other service serves on.
    const failed = await eventually('the never-ready worker to fail', () => {
      const i = plugin.status().services.find((s) => s.name === 'never')!.instances[0]
      return i.state === 'failed' && i
    })
    expect(failed.reason).toMatch(/not ready within 300 ms/)
    expect((await fetch(`${base}/api/py/ok`)).status).toBe(200)
  })

  it('restarts a worker killed with SIGKILL; requests meanwhile go to the other instance or get a quick 502/503', async () => {
    const { plugin, base } = await gateway([{ name: 'py', command: PY, routes: ['/api/py/*'], instances: 2, backoff: { initialMs: 50, maxMs: 100 } }])
    await ready(plugin, 'py', 2)
    const victim = plugin.status().services[0].instances[0].pid!
    const statuses: number[] = []
    let stop = false
    // An answer the victim had begun when it was killed (its head already passed
    // on: answers are streamed) ends with the connection closed, never a hang;
    // counted as CUT. Seen once in a CI run that ran the suite twice.
    const CUT = -1
    const load = (async () => {
      while (!stop) {
        const t = Date.now()
        try {
          const r = await fetch(`${base}/api/py/x`)
          await r.arrayBuffer()
          statuses.push(r.status)
        } catch (err: any) {
          if (err?.cause?.code !== 'UND_ERR_SOCKET') throw err
          statuses.push(CUT)
        }
        expect(Date.now() - t).toBeLessThan(2000)
      }
    })()
    await eventually('some requests', () => statuses.length > 20)
    process.kill(victim, 'SIGKILL')
    const back = await eventually('the killed instance restarted', () => {
      const i = plugin.status().services[0].instances.find((x) => x.instance === 0)
      return i && i.state === 'ready' && i.pid !== victim && i
    })
    stop = true
    await load
    expect(back.restarts).toBe(1)
    expect(statuses.every((s) => s === 200 || s === 502 || s === 503 || s === CUT)).toBe(true)
    // Only the answer in flight at the kill can be cut.
    expect(statuses.filter((s) => s === CUT).length).toBeLessThanOrEqual(1)
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(20)
  })

  it('a rolling restart under steady load fails no request (Python workers die at once on SIGTERM)', async () => {
    const { plugin, base } = await gateway([{ name: 'node', command: PY, routes: ['/api/node/*'], instances: 2 }])
    await ready(plugin, 'node', 2)
    const before = plugin.status().services[0].instances.map((i) => i.pid)
    const load = steadyLoad(`${base}/api/node/x`)
    await eventually('some requests', () => load.statuses.length > 20)
    await plugin.restart('node')
    const n = load.statuses.length
    await eventually('more requests after the restart', () => load.statuses.length > n + 20)
    expect((await load.stop()).filter((s) => s !== 200)).toEqual([])
    const after = plugin
      .status()
      .services[0].instances.filter((i) => i.state === 'ready')
      .map((i) => i.pid)
    expect(after).toHaveLength(2)
    expect(after.some((p) => before.includes(p))).toBe(false)
  })

  it('a change in a watched file restarts the workers (rolling) with zero failed requests under load', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbgw-watch-'))
    fs.writeFileSync(path.join(dir, 'app.py'), '# v1\n')
    const { plugin, base } = await gateway([{ name: 'py', command: PY, routes: ['/api/py/*'], instances: 2, watch: [path.join(dir, '*.py')] }])
    await ready(plugin, 'py', 2)
    const before = plugin.status().services[0].instances.map((i) => i.pid)
    const load = steadyLoad(`${base}/api/py/x`, 2)
    await eventually('some requests', () => load.statuses.length > 10)
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not watched')
    fs.writeFileSync(path.join(dir, 'app.py'), '# v2\n')
    await eventually('both workers replaced', () => {
      const now = plugin
        .status()
        .services[0].instances.filter((i) => i.state === 'ready')
        .map((i) => i.pid)
      return now.length === 2 && now.every((p) => !before.includes(p))
    })
    expect((await load.stop()).filter((s) => s !== 200)).toEqual([])
  })

  it('stop() stops every worker', async () => {
    const { engine, plugin } = await gateway([{ name: 'py', command: PY, routes: ['/api/py/*'], instances: 2 }])
    await ready(plugin, 'py', 2)
    const pids = plugin.status().services[0].instances.map((i) => i.pid!)
    await engine.stop()
    expect(pids.filter(alive)).toEqual([])
  })

  it('starts no worker when the engine cannot listen', async () => {
    const net = await import('node:net')
    const taken = net.createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()))
    const port = (taken.address() as any).port
    const plugin = new ServicesPlugin({ services: [{ name: 'py', command: PY, routes: ['/api/py/*'] }], runtimeDir: runtimeDir() })
    const { engine } = setup({ plugins: [plugin], options: { hostname: '127.0.0.1' } })
    try {
      await expect(engine.start(port)).rejects.toThrow()
      expect(plugin.status().services[0].instances).toEqual([])
    } finally {
      taken.close()
    }
  })

  it('refuses bad options with a TypeError naming the field', () => {
    const bad = (services: any) => () => new ServicesPlugin({ services })
    expect(bad([{ name: 'x', command: [], routes: ['/a/*'] }])).toThrow(/services\[0\]\.command/)
    expect(bad([{ name: 'x', command: ['a'] }])).toThrow(/services\[0\]\.routes/)
    expect(bad([{ name: 'x', command: ['a'], routes: ['/a/:id'] }])).toThrow(/routes/)
    expect(bad([{ name: 'x', command: ['a'], routes: ['/a'], timeoutMs: 0 }])).toThrow(/timeoutMs/)
    expect(bad([{ name: 'x', command: ['a'], routes: ['/a'], bogus: 1 }])).toThrow(/bogus/)
    expect(bad([{ name: 'x', command: ['a'], routes: ['/a'], watch: 'app' }])).toThrow(/watch/)
  })
})
