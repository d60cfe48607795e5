// Adversarial: workers that break HTTP behind the gateway (ServicesPlugin).
// Whatever a worker sends, the client gets the worker's valid answer or a
// JSON 502/504 in bounded time, and its own connection stays usable.
import { afterEach, describe, expect, it } from 'vitest'
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import { ServicesPlugin } from '../../index.js'
import { setup, listen, stopAll, RawClient, head, type RawResponse } from '../helpers/http'
import { eventually } from '../helpers/wait'

afterEach(stopAll)

const MISBEHAVE = [process.execPath, path.join(__dirname, '..', 'fixtures', 'workers', 'misbehave.js')]

async function gateway(service: Record<string, unknown> = {}) {
  const plugin = new ServicesPlugin({
    services: [{ name: 'odd', command: MISBEHAVE, routes: ['/odd/*'], stripPrefix: true, healthPath: '/health', ...service }],
    runtimeDir: fs.mkdtempSync(path.join(os.tmpdir(), 'nbgw-')),
  })
  const { engine } = setup({ plugins: [plugin] })
  const { port, base } = await listen(engine)
  await eventually('the worker is ready', () => plugin.status().services[0].ready === 1)
  return { plugin, port, base }
}

/** `p`, or a rejection naming `what` after `ms`: no case may hang. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  return Promise.race([p, limit]).finally(() => clearTimeout(timer))
}

function expectJsonError(res: RawResponse, status: number) {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toMatch(/application\/json/)
  const body = JSON.parse(res.text)
  expect(typeof body.message).toBe('string')
  return body
}

/** Sends `first` and `GET /odd/ok` pipelined on one connection; both answers. */
async function pipelined(port: number, first: string) {
  const client = await RawClient.connect(port)
  try {
    client.write(head('GET', first) + head('GET', '/odd/ok'))
    const a = await within(5000, `answer to ${first}`, client.read())
    const b = await within(5000, 'answer to the pipelined /odd/ok', client.read())
    return { a, b }
  } finally {
    client.destroy()
  }
}

describe('workers that break HTTP', () => {
  it('an unsolicited 101 Switching Protocols is a 502, and the request pipelined behind it is answered', async () => {
    const { port } = await gateway()
    const { a, b } = await pipelined(port, '/odd/switch')
    expect(expectJsonError(a, 502).message).toMatch(/101 Switching Protocols/)
    expect(a.headers.upgrade).toBeUndefined()
    expect(b.status).toBe(200)
    expect(JSON.parse(b.text)).toHaveProperty('pid')
  })

  it('an unsolicited 101 to a client that asked for a WebSocket upgrade is a 502 too (upgrades are not proxied)', async () => {
    const { port } = await gateway()
    const client = await RawClient.connect(port)
    try {
      const ws = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }
      client.write(head('GET', '/odd/switch', ws) + head('GET', '/odd/ok'))
      expectJsonError(await within(5000, 'the upgrade answer', client.read()), 502)
      expect((await within(5000, 'the pipelined answer', client.read())).status).toBe(200)
    } finally {
      client.destroy()
    }
  })

  it('interim 100 and 103 answers are skipped: the client gets the final 200', async () => {
    const { port } = await gateway()
    const { a, b } = await pipelined(port, '/odd/hints')
    expect(a.status).toBe(200)
    expect(a.text).toBe('final')
    expect(b.status).toBe(200)
  })

  it('an answer that is not HTTP is a 502, and the client connection stays usable', async () => {
    const { port } = await gateway()
    const { a, b } = await pipelined(port, '/odd/garbage')
    expect(expectJsonError(a, 502).message).toMatch(/bad answer from instance 0/)
    expect(b.status).toBe(200)
  })

  it('an invalid header line in the head is a 502', async () => {
    const { port } = await gateway()
    const { a, b } = await pipelined(port, '/odd/badhead')
    expectJsonError(a, 502)
    expect(b.status).toBe(200)
  })

  it('a worker that closes mid-answer: the client sees the answer end early, not a hang', async () => {
    const { port, base } = await gateway()
    const client = await RawClient.connect(port)
    client.write(head('GET', '/odd/cut'))
    // The head (200, 100 bytes) was passed on before the cut; the connection
    // is closed so the short body cannot be mistaken for a whole one.
    await within(5000, 'the cut answer', client.closed)
    expect(client.all.toString('latin1')).toMatch(/^HTTP\/1\.1 200/)
    await expect(client.read()).rejects.toThrow(/closed before a complete response/)
    expect((await fetch(`${base}/odd/ok`)).status).toBe(200)
  })

  for (const [what, path] of [
    ['half a head', '/odd/cuthead'],
    ['not a byte', '/odd/nothing'],
  ]) {
    it(`a worker that closes after ${what}: 502 JSON, and the pipelined request is answered`, async () => {
      const { port } = await gateway()
      const { a, b } = await pipelined(port, path)
      expectJsonError(a, 502)
      expect(b.status).toBe(200)
    })
  }

  it('a worker that never answers: 504 JSON once timeoutMs has passed', async () => {
    const { port } = await gateway({ timeoutMs: 300 })
    const started = Date.now()
    const { a, b } = await pipelined(port, '/odd/silent')
    expect(expectJsonError(a, 504).message).toMatch(/no answer within 300 ms/)
    expect(Date.now() - started).toBeLessThan(3000)
    expect(b.status).toBe(200)
  })

  it('a worker that crashes mid-request: 502 JSON at once, and it is restarted', async () => {
    const { plugin, base } = await gateway({ backoff: { initialMs: 10, maxMs: 50 } })
    const before = plugin.status().services[0].instances[0].pid
    const res = await within(5000, 'the crashed request', fetch(`${base}/odd/crash`))
    expect(res.status).toBe(502)
    expect(await res.json()).toMatchObject({ error: 'Bad Gateway' })
    const after = await eventually('the worker restarted', () => {
      const i = plugin.status().services[0].instances[0]
      return i.state === 'ready' && i.pid !== before && i.pid
    })
    const ok = await (await fetch(`${base}/odd/ok`)).json()
    expect(ok.pid).toBe(after)
  })
})
