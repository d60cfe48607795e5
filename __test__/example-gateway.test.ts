// Keeps examples/gateway runnable: starts it as `npm run gateway` does and
// asks each service through the gateway.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { eventually } from './helpers/wait'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('examples/gateway', () => {
  it('forwards to the Python and Node workers and lists them', async () => {
    const child = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/gateway/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = once(child, 'exit')
    let out = ''
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d
          const m = /listening on http:\/\/localhost:(\d+)/.exec(out)
          if (m) resolve(Number(m[1]))
        })
        child.stderr.on('data', (d) => (out += d))
        child.once('exit', (code) => reject(new Error(`gateway exited with ${code} before listening:\n${out}`)))
      })
      const base = `http://127.0.0.1:${port}`
      await eventually('both services ready', async () => {
        const s = await (await fetch(`${base}/services`)).json()
        return s.services.every((x: any) => x.ready === x.instances.length && x.ready > 0)
      })
      const py = await (await fetch(`${base}/api/py/hello`)).json()
      expect(py).toMatchObject({ service: 'python', path: '/api/py/hello' })
      const node = await (await fetch(`${base}/api/node/items?x=1`)).json()
      expect(node).toMatchObject({ service: 'node', path: '/items?x=1' })
      const status = await (await fetch(`${base}/services`)).json()
      expect(status.services.map((s: any) => [s.name, s.ready])).toEqual([
        ['py', 2],
        ['node', 1],
      ])
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  })
})
