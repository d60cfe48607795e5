// Keeps examples/dynamic-config runnable: one process on its own store; then
// two processes sharing Redis, where a PUT on one changes the value on the other.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { redisMissing, startRedis } from './helpers/servers'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

interface Running {
  child: ChildProcess
  base: string
  /** Resolves when stdout prints a line matching `re`. */
  printed(re: RegExp): Promise<string>
}

async function run(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/dynamic-config/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const watchers: [RegExp, (line: string) => void][] = []
  child.stdout?.on('data', (d) => {
    out += d
    for (const [re, resolve] of watchers) {
      const m = re.exec(out)
      if (m) resolve(m[0])
    }
  })
  const printed = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const m = re.exec(out)
      if (m) return resolve(m[0])
      watchers.push([re, resolve])
      child.once('exit', (code) => reject(new Error(`the example exited with ${code} before printing ${re}:\n${out}`)))
    })
  const port = Number((await printed(/listening on http:\/\/localhost:(\d+)/)).split(':').pop())
  return { child, base: `http://127.0.0.1:${port}`, printed }
}

async function stop(r: Running) {
  const exited = once(r.child, 'exit')
  r.child.kill('SIGTERM')
  const [code] = await exited
  expect(code).toBe(0)
}

const put = (base: string, value: unknown) =>
  fetch(`${base}/limits/MAX_UPLOADS`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) })

describe('examples/dynamic-config', () => {
  it('reads the default, takes a change, refuses a value outside the schema with a 400', async () => {
    const node = await run({})
    try {
      expect(await (await fetch(`${node.base}/limits`)).json()).toEqual({ maxUploads: 10 })
      const changed = node.printed(/MAX_UPLOADS: 10 -> 7/)
      expect((await put(node.base, 7)).status).toBe(200)
      await changed
      expect(await (await fetch(`${node.base}/limits`)).json()).toEqual({ maxUploads: 7 })
      const refused = await put(node.base, -1)
      expect(refused.status).toBe(400)
      expect((await refused.json()).message).toMatch(/MAX_UPLOADS: the value does not match its schema: Too small/)
    } finally {
      await stop(node)
    }
  })

  it.skipIf(redisMissing())('two processes on one Redis: a change on one reaches the other', async () => {
    const redis = await startRedis()
    const a = await run({ REDIS_URL: redis.url })
    const b = await run({ REDIS_URL: redis.url })
    try {
      const seen = b.printed(/MAX_UPLOADS: 10 -> 42/)
      expect((await put(a.base, 42)).status).toBe(200)
      await seen
      expect(await (await fetch(`${b.base}/limits`)).json()).toEqual({ maxUploads: 42 })
    } finally {
      await Promise.all([stop(a), stop(b)])
      await redis.stop()
    }
  })
})

if (redisMissing()) console.log(`skipping the two-process example test: ${redisMissing()}`)
