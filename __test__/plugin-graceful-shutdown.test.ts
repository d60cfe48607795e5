// GracefulShutdownPlugin: the in-flight count, 503 for new requests once
// shutdown() began (on a kept-alive connection too) while the slow one
// finishes, the timeout, signal listeners, and SIGTERM in a child process.
import { describe, it, expect, afterEach } from 'vitest'
import { spawn } from 'node:child_process'
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import { Testing, RoutePlugin, Route, Handler, ServicesPlugin } from '../index.js'
import { GracefulShutdownPlugin } from '../lib/plugins/graceful-shutdown.js'
import { listen, deferred, RawClient, head, canConnect } from './helpers/http'
import { eventually } from './helpers/wait'

const engines: any[] = []

function setup(options: Record<string, unknown> = {}, engineOptions: Record<string, unknown> = {}) {
  const plugin = new GracefulShutdownPlugin(options)
  const { Module, engine } = Testing.createTestEngine({
    plugins: [new RoutePlugin(), plugin],
    options: { name: 'shutdown-test', version: '1.0.0', ...engineOptions },
  })
  engines.push(engine)
  return { Module, engine, plugin }
}

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

/** A module with /slow (waits for `gate`, counting entries) and /fast. */
function slowModule(Module: any) {
  const gate = deferred()
  let entered = 0
  let onEnter = deferred()
  @Module('svc')
  class Svc {
    @Route({ path: '/slow' })
    async slow() {
      entered++
      onEnter.resolve()
      await gate.promise
      return 'slow done'
    }

    @Route({ path: '/fast' })
    fast() {
      return 'fast'
    }
  }
  return {
    Svc,
    gate,
    /** Resolves once `n` calls are inside slow(). */
    async entered(n: number) {
      while (entered < n) {
        await onEnter.promise
        onEnter = deferred()
      }
    },
  }
}

describe('GracefulShutdownPlugin', () => {
  it('has nebula-engine’s name, priority and defaults, and checks its options', () => {
    const p = new GracefulShutdownPlugin()
    expect([p.name, p.priority, p.options]).toEqual(['graceful-shutdown-plugin', 50, { shutdownTimeout: 600000, enabled: true }])
    expect(() => new GracefulShutdownPlugin({ shutdownTimeout: -1 })).toThrow(/shutdownTimeout/)
    expect(() => new GracefulShutdownPlugin({ enabled: 'yes' } as any)).toThrow(/enabled/)
    expect(() => new GracefulShutdownPlugin({ timeout: 5 } as any)).toThrow(/unknown option/)
  })

  it('counts requests and engine.handler() calls in flight', async () => {
    const { Module, engine, plugin } = setup()
    const svc = slowModule(Module)
    const { base } = await listen(engine)
    expect(plugin.getActiveHandlersCount()).toBe(0)
    const res = fetch(`${base}/slow`)
    await svc.entered(1)
    expect(plugin.getActiveHandlersCount()).toBe(1)
    const direct = engine.handler(svc.Svc, 'slow')()
    await svc.entered(2)
    expect(plugin.getActiveHandlersCount()).toBe(2)
    svc.gate.resolve()
    expect(await (await res).text()).toBe('slow done')
    expect(await direct).toBe('slow done')
    expect(plugin.getActiveHandlersCount()).toBe(0)
    expect(plugin.isShuttingDownNow()).toBe(false)
  })

  it('after shutdown() begins: 503 on a kept-alive connection, the slow request finishes 200', async () => {
    const { Module, engine, plugin } = setup()
    const svc = slowModule(Module)
    const { port } = await listen(engine)
    const keep = await RawClient.connect(port)
    keep.write(head('GET', '/fast'))
    expect((await keep.read()).status).toBe(200)
    const slow = await RawClient.connect(port)
    slow.write(head('GET', '/slow'))
    await svc.entered(1)

    const done = plugin.shutdown()
    expect(plugin.isShuttingDownNow()).toBe(true)
    expect(plugin.shutdown()).toBe(done)
    keep.write(head('GET', '/fast'))
    const refused = await keep.read()
    expect(refused.status).toBe(503)
    expect(refused.headers.connection).toBe('close')
    expect(JSON.parse(refused.text)).toEqual({ error: 'Service Unavailable', message: 'shutting down' })
    await keep.closed
    // New connections are still accepted while draining, and told the same.
    const late = await fetch(`http://127.0.0.1:${port}/fast`)
    expect(late.status).toBe(503)
    await expect(engine.handler(svc.Svc, 'fast')()).rejects.toMatchObject({ status: 503 })

    svc.gate.resolve()
    const finished = await slow.read()
    expect([finished.status, finished.text]).toEqual([200, 'slow done'])
    await done
    expect(await canConnect(port)).toBe(false)
    slow.destroy()
  })

  it('stops the engine after shutdownTimeout even if a request never finishes', async () => {
    const { Module, engine, plugin } = setup({ shutdownTimeout: 50 }, { shutdownTimeout: 50 })
    const svc = slowModule(Module)
    const { port } = await listen(engine)
    const stuck = await RawClient.connect(port)
    stuck.write(head('GET', '/slow'))
    await svc.entered(1)
    await plugin.shutdown()
    expect(await canConnect(port)).toBe(false)
    await stuck.closed
    svc.gate.resolve()
  })

  it("after its own shutdownTimeout, stop() does not wait again for the engine's (nebula's forced stop)", async () => {
    // The engine keeps its default shutdownTimeout (30 s); the plugin's 50 ms is what the user asked for.
    const { Module, engine, plugin } = setup({ shutdownTimeout: 50 })
    const svc = slowModule(Module)
    const { port } = await listen(engine)
    const stuck = await RawClient.connect(port)
    stuck.write(head('GET', '/slow'))
    await svc.entered(1)
    const t0 = performance.now()
    await plugin.shutdown()
    // Before: stop() waited for /slow up to the engine's 30 s (the test timed out).
    expect(performance.now() - t0).toBeLessThan(5000)
    expect(await canConnect(port)).toBe(false)
    await stuck.closed
    svc.gate.resolve()
  })

  it('with no module method (gateway services only), refuses new requests and drains those in flight on the gateway routes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbgs-'))
    const mark = path.join(dir, 'arrived')
    fs.mkdirSync(path.join(dir, 'pids'))
    const hang = path.join(__dirname, 'fixtures', 'cli', 'hang-worker.js')
    const services = new ServicesPlugin({
      services: [{ name: 'hang', command: [process.execPath, hang], routes: ['/hang'], env: { MARK: mark, WORKER_PIDS: path.join(dir, 'pids') } }],
      runtimeDir: path.join(dir, 'rt'),
    })
    const plugin = new GracefulShutdownPlugin({ shutdownTimeout: 1500 })
    const { engine } = Testing.createTestEngine({ plugins: [plugin, services], options: { name: 'gw-only', version: '1.0.0' } })
    engines.push(engine)
    const { port } = await listen(engine)
    await eventually('the worker ready', () => services.status().services[0].ready === 1)
    const inFlight = fetch(`http://127.0.0.1:${port}/hang`).catch((e) => e)
    await eventually('the request at the worker', () => fs.existsSync(mark))
    const t0 = performance.now()
    const down = plugin.shutdown()
    // Before: the shutdown flag and the drain reached only module methods' layers, so this went to the worker.
    const refused = await fetch(`http://127.0.0.1:${port}/hang`)
    expect(refused.status).toBe(503)
    await down
    // It waited for the request in flight (up to its 1.5 s), instead of cutting it at once.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1400)
    await inFlight
  })

  it('installs SIGINT/SIGTERM listeners on start and removes them on stop; none when disabled', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]
    const { Module, engine } = setup()
    slowModule(Module)
    await listen(engine)
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before.map((n) => n + 1))
    await engine.stop()
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before)

    const off = setup({ enabled: false })
    const svc = slowModule(off.Module)
    await listen(off.engine)
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before)
    // Disabled: no layer, so nothing is refused.
    const stopping = off.plugin.shutdown()
    expect(await off.engine.handler(svc.Svc, 'fast')()).toBe('fast')
    await stopping
  })

  it('wraps each method once, whatever its handler marks', async () => {
    const { Module, engine, plugin } = setup()
    let layers = 0
    const counter = {
      name: 'counter',
      priority: 60,
      onHandlerLoad(hs: any[]) {
        layers = hs.length
      },
    }
    engine.plugin(counter)
    @Module('two')
    class Two {
      @Handler({ type: 'custom' })
      @Route({ path: '/two' })
      two() {
        return 'two'
      }
    }
    expect(await (await engine.request('/two')).text()).toBe('two')
    expect(layers).toBe(2)
    expect((plugin as any)._wrappers.length).toBe(1)
    expect(Two).toBeDefined()
  })

  it('on SIGTERM: refuses new requests, lets the in-flight one finish, exits 0', async () => {
    const root = path.resolve(__dirname, '..')
    const script = `
      const { Testing, RoutePlugin, Route } = require(${JSON.stringify(path.join(root, 'index.js'))})
      const { GracefulShutdownPlugin } = require(${JSON.stringify(path.join(root, 'lib/plugins/graceful-shutdown.js'))})
      const plugin = new GracefulShutdownPlugin({ shutdownTimeout: 10000 })
      const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), plugin] })
      let release
      const gate = new Promise((r) => (release = r))
      class Svc {
        async slow() { process.stdout.write('ENTERED\\n'); await gate; return 'finished' }
        fast() { return 'fast' }
      }
      for (const m of ['slow', 'fast']) Route({ path: '/' + m })(Svc.prototype, m, Object.getOwnPropertyDescriptor(Svc.prototype, m))
      Module('svc')(Svc)
      process.stdin.on('data', (d) => { if (String(d).includes('release')) release() })
      engine.start(0).then((port) => {
        // Registered after the plugin's listener, so it runs after it.
        process.on('SIGTERM', () => process.stdout.write('SIGTERM ' + plugin.isShuttingDownNow() + '\\n'))
        process.stdout.write('PORT ' + port + '\\n')
      })
    `
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    let out = ''
    let wake: (() => void) | undefined
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      wake?.()
    })
    const waitFor = async (re: RegExp) => {
      for (;;) {
        const m = re.exec(out)
        if (m) return m
        if (child.exitCode !== null) throw new Error(`child exited early:\n${out}`)
        await new Promise<void>((r) => (wake = r))
      }
    }
    try {
      const port = Number((await waitFor(/PORT (\d+)/))[1])
      const slow = fetch(`http://127.0.0.1:${port}/slow`)
      await waitFor(/ENTERED/)
      child.kill('SIGTERM')
      await waitFor(/SIGTERM true/)
      const refused = await fetch(`http://127.0.0.1:${port}/fast`)
      expect(refused.status).toBe(503)
      child.stdin.write('release\n')
      const res = await slow
      expect([res.status, await res.text()]).toEqual([200, 'finished'])
      expect(await exit).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
