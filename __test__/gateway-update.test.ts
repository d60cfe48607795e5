// ServicesPlugin.update(): new services while serving. Added services start
// and serve once the promise resolves, removed ones stop, changed worker
// options replace the workers without a failed request, route changes keep
// the workers, and invalid options change nothing.
import { afterEach, describe, expect, it } from 'vitest'
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import { ServicesPlugin } from '../index.js'
import { setup, listen, stopAll } from './helpers/http'
import { eventually } from './helpers/wait'
import { steadyLoad } from './helpers/load'

afterEach(stopAll)

const workers = path.join(__dirname, 'fixtures', 'workers')
const PY = ['python3', path.join(workers, 'echo.py')]
const NODE = [process.execPath, path.join(workers, 'echo.js')]

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function gateway(services: any[]) {
  const plugin = new ServicesPlugin({ services, runtimeDir: fs.mkdtempSync(path.join(os.tmpdir(), 'nbgw-')) })
  const { engine } = setup({ plugins: [plugin] })
  const { base } = await listen(engine)
  for (const s of services) {
    await eventually(`${s.name} ready`, () => plugin.status().services.find((x) => x.name === s.name)!.ready === (s.instances ?? 1))
  }
  return { plugin, base }
}

const pids = (plugin: ServicesPlugin, name: string) =>
  plugin
    .status()
    .services.find((s) => s.name === name)!
    .instances.filter((i) => i.state === 'ready')
    .map((i) => i.pid)

describe('ServicesPlugin.update', () => {
  it('starts added services, stops removed ones, reroutes without restarting', async () => {
    const py = { name: 'py', command: PY, routes: ['/api/py/*'] }
    const node = { name: 'node', command: NODE, routes: ['/api/node/*'] }
    const { plugin, base } = await gateway([py, node])
    const nodePid = pids(plugin, 'node')[0]
    const pyPids = pids(plugin, 'py')

    const summary = await plugin.update([
      { ...py, routes: ['/v2/py/*'] },
      { name: 'js2', command: NODE, routes: ['/api/js2/*'] },
    ])
    expect(summary).toEqual({ started: ['js2'], restarted: [], rerouted: ['py'], stopped: ['node'], unchanged: [], failed: [] })
    // Ready when update() resolves.
    expect((await (await fetch(`${base}/api/js2/x`)).json()).worker).toBe('node')
    expect((await (await fetch(`${base}/v2/py/x`)).json()).path).toBe('/v2/py/x')
    expect((await fetch(`${base}/api/py/x`)).status).toBe(404)
    expect((await fetch(`${base}/api/node/x`)).status).toBe(404)
    expect(pids(plugin, 'py')).toEqual(pyPids)
    expect(alive(nodePid)).toBe(false)
    expect(plugin.status().services.map((s) => s.name)).toEqual(['py', 'js2'])
  })

  it('replaces the workers of a changed service under load without a failed request, also to more instances', async () => {
    const { plugin, base } = await gateway([{ name: 'py', command: PY, routes: ['/api/py/*'] }])
    const before = pids(plugin, 'py')
    const load = steadyLoad(`${base}/api/py/x`)
    await eventually('some requests', () => load.statuses.length > 20)
    const summary = await plugin.update([{ name: 'py', command: PY, routes: ['/api/py/*'], instances: 2, env: { V: '2' } }])
    expect(summary.restarted).toEqual(['py'])
    const n = load.statuses.length
    await eventually('more requests after the update', () => load.statuses.length > n + 20)
    expect((await load.stop()).filter((s) => s !== 200)).toEqual([])
    const after = pids(plugin, 'py')
    expect(after).toHaveLength(2)
    expect(after.some((p) => before.includes(p))).toBe(false)
    // And back to one: the extra instance drains and stops.
    await plugin.update([{ name: 'py', command: PY, routes: ['/api/py/*'], instances: 1 }])
    expect(plugin.status().services[0].instances).toHaveLength(1)
    expect(after.filter(alive)).toEqual([])
  })

  it('rejects invalid services with a TypeError naming the field, changing nothing', async () => {
    const py = { name: 'py', command: PY, routes: ['/api/py/*'] }
    const { plugin, base } = await gateway([py])
    const before = pids(plugin, 'py')
    await expect(plugin.update([{ ...py, routes: ['/api/:id'] }])).rejects.toThrow(/services\[0\]\.routes: .* is not a route/)
    await expect(plugin.update([py, { name: 'b', command: NODE, routes: ['/api/py/*'] }])).rejects.toThrow(
      /services\[1\]\.routes: \/api\/py\/\* is already a route of service "py"/,
    )
    expect(pids(plugin, 'py')).toEqual(before)
    expect((await fetch(`${base}/api/py/x`)).status).toBe(200)
  })

  it('sends a request to the closest route, whatever the order of services', async () => {
    const { base } = await gateway([
      { name: 'wide', command: PY, routes: ['/api/*'] },
      { name: 'narrow', command: NODE, routes: ['/api/node/*'] },
    ])
    expect((await (await fetch(`${base}/api/node/x`)).json()).worker).toBe('node')
    expect((await (await fetch(`${base}/api/other`)).json()).worker).toBe('python')
  })

  it('keeps the former configuration of a service whose new workers never become ready, and retries it', async () => {
    const py = { name: 'py', command: PY, routes: ['/api/py/*'] }
    const { plugin, base } = await gateway([py])
    const before = pids(plugin, 'py')
    const broken = { ...py, command: ['python3', '-c', 'import time; time.sleep(60)'], readyTimeoutMs: 300, crashLoop: { maxRestarts: 0 } }
    const first = await plugin.update([broken])
    expect(first.restarted).toEqual([])
    expect(first.failed).toEqual([{ service: 'py', reason: expect.stringMatching(/not ready within 300 ms/) }])
    expect(pids(plugin, 'py')).toEqual(before)
    expect((await fetch(`${base}/api/py/x`)).status).toBe(200)
    // Still different from what runs: the same options are tried again.
    const again = await plugin.update([broken])
    expect(again.failed.map((f: any) => f.service)).toEqual(['py'])
    // An added service that never becomes ready is not added.
    const added = await plugin.update([py, { ...broken, name: 'never', routes: ['/never/*'] }])
    expect(added.started).toEqual([])
    expect(added.failed.map((f: any) => f.service)).toEqual(['never'])
    expect(plugin.status().services.map((s) => s.name)).toEqual(['py'])
  })

  it('a removed service finishes its requests in flight before it stops', async () => {
    const STREAM = [process.execPath, path.join(workers, 'stream.js')]
    const { plugin, base } = await gateway([{ name: 'w', command: STREAM, routes: ['/w/*'], stripPrefix: true }])
    const res = await fetch(`${base}/w/hold?ms=400`)
    const reader = res.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first\n')
    const removing = plugin.update([])
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
    expect(rest).toBe('last\n')
    expect((await removing).stopped).toEqual(['w'])
    expect((await fetch(`${base}/w/x`)).status).toBe(404)
  })
})
