// Keeps examples/chat runnable: starts it as `npm run chat` does, then two
// headless Chromium pages (Debian's chromium, driven by playwright-core) log
// in, join the lobby and talk to each other through the hub.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from './helpers/ws'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const CHROMIUM = '/usr/bin/chromium'
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium) console.warn(`[example-chat] skipping the browser test: ${CHROMIUM} is not installed (apt-get install chromium)`)

let child: ChildProcess
let base = ''

beforeAll(async () => {
  child = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/chat/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.stderr!.on('data', (d) => (out += d))
    child.once('exit', (code) => reject(new Error(`chat exited with ${code} before listening:\n${out}`)))
  })
  base = `http://127.0.0.1:${port}`
})

afterAll(async () => {
  if (!child || child.exitCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
})

describe('examples/chat', () => {
  it('serves the page, logs in and refuses sockets without a token', async () => {
    const page = await fetch(`${base}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('nebula chat')
    expect((await fetch(`${base}/api/login?name=bad name`)).status).toBe(400)
    const { token } = await (await fetch(`${base}/api/login?name=carol`)).json()
    const ws = `${base.replace('http', 'ws')}/ws`
    await expect(connect(ws)).rejects.toMatchObject({ status: 401 })
    const c = await connect(`${ws}?token=${token}`)
    expect((await c.request('join_room', { room_id: 'lobby' })).message_type).toBe('room_joined')
    expect((await c.request('typing', { room_id: 'lobby' })).data).toEqual({ ok: true })
    await c.close()
  })

  it.skipIf(!haveChromium)(
    'two browser pages join the lobby and exchange messages',
    async () => {
      const { chromium } = await import('playwright-core')
      const profile = mkdtempSync(join(tmpdir(), 'nebula-chat-'))
      // A fresh profile of our own (playwright takes it as userDataDir).
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
      try {
        const join = async (name: string) => {
          const page = await browser.newPage()
          await page.goto(`${base}/`)
          await page.fill('input[name=name]', name)
          await page.click('#login button')
          await page.waitForSelector(`#log >> text=you joined lobby as ${name}`)
          return page
        }
        const alice = await join('alice')
        const bob = await join('bob')
        await alice.waitForSelector('#log >> text=bob joined')
        await alice.fill('input[name=text]', 'hello bob')
        await alice.click('#say button')
        await bob.waitForSelector('#log >> text=alice: hello bob')
        await bob.fill('input[name=text]', 'hi alice')
        await bob.click('#say button')
        await alice.waitForSelector('#log >> text=bob: hi alice')
        expect(await bob.textContent('#log')).toContain('alice: hello bob')
      } finally {
        await browser.close()
        rmSync(profile, { recursive: true, force: true })
      }
    },
    60_000,
  )
})
