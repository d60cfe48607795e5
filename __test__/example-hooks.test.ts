// Keeps examples/hooks runnable: starts it as `npm run hooks` does and talks to it.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { connect } from './helpers/ws'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('examples/hooks', () => {
  it('serves hook routes from QuickJS, with shared code, plugins, events, hub hooks and the admin endpoints', async () => {
    const child = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/hooks/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', WATCH: '0', ADMIN_TOKEN: 'admin-token-0123456789' },
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
        child.once('exit', (code) => reject(new Error(`hooks exited with ${code} before listening:\n${out}`)))
      })
      const base = `http://127.0.0.1:${port}`
      const hello = await (await fetch(`${base}/api/hello/ann`)).json()
      expect(hello).toMatchObject({ hello: 'ann' })
      expect((await fetch(`${base}/api/notes`, { method: 'POST', body: '{"text":"x"}' })).status).toBe(401)
      const client = await connect(`ws://127.0.0.1:${port}/ws`)
      expect((await client.request('shout', { text: 'hi' })).data).toEqual({ text: 'HI' })
      expect((await client.request('chat', { text: 'buy spam' })).data.code).toBe(2001)
      expect((await client.request('chat', { text: 'hello' })).data).toMatchObject({ text: 'hello' })
      const noted = await fetch(`${base}/api/notes`, { method: 'POST', headers: { 'x-key': 'k' }, body: '{"text":"  a   note "}' })
      expect(noted.status).toBe(201)
      expect((await noted.json()).text).toBe('a note')
      // The route's hub.broadcast reached the WebSocket client.
      expect((await client.next('note')).data.text).toBe('a note')
      await client.close()
      const admin = { headers: { authorization: 'Bearer admin-token-0123456789' } }
      const plugins = await (await fetch(`${base}/admin/plugins`, admin)).json()
      expect(JSON.stringify(plugins)).toContain('audit')
      const stats = await (await fetch(`${base}/admin/jsvm/stats`, admin)).json()
      expect(stats.generation).toBe(1)
      // The script's events.emit("note", …) reached engine.jsvm.on in TypeScript.
      await new Promise<void>((resolve) => {
        const check = () => (out.includes('a script saved a note') ? resolve() : child.stdout.once('data', check))
        check()
      })
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  }, 30_000)
})
