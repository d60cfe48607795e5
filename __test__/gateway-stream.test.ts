// The gateway streams both bodies and keeps connections to workers open:
// an answer's first bytes reach the client before the worker has finished,
// uploads and downloads larger than any buffer pass through whole, the body
// limit still holds for a streamed upload, and sequential requests reuse
// one connection to the worker.
import { afterEach, describe, expect, it } from 'vitest'
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import crypto from 'node:crypto'
import { ServicesPlugin } from '../index.js'
import { setup, listen, stopAll } from './helpers/http'
import { eventually } from './helpers/wait'

afterEach(stopAll)

const STREAM = [process.execPath, path.join(__dirname, 'fixtures', 'workers', 'stream.js')]

async function gateway(service: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  const plugin = new ServicesPlugin({
    services: [{ name: 'w', command: STREAM, routes: ['/w/*'], stripPrefix: true, ...service }],
    runtimeDir: fs.mkdtempSync(path.join(os.tmpdir(), 'nbgw-')),
  })
  const { engine } = setup({ plugins: [plugin], options })
  const { base } = await listen(engine)
  await eventually('the worker is ready', () => plugin.status().services[0].ready === 1)
  return { engine, plugin, base }
}

describe('gateway streaming', () => {
  it("passes an answer's first bytes on before the worker has finished it", async () => {
    const { base } = await gateway()
    const res = await fetch(`${base}/w/hold`)
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const first = await reader.read()
    // Buffered, this read would wait for "last", which only /release lets out.
    expect(new TextDecoder().decode(first.value)).toBe('first\n')
    expect(await (await fetch(`${base}/w/release`)).text()).toBe('released')
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
    expect(rest).toBe('last\n')
  })

  it('streams a 64 MiB download and a 20 MiB chunked upload through whole', async () => {
    const { base } = await gateway({}, { bodyLimit: 32 * 1024 * 1024 })
    const down = await fetch(`${base}/w/big?n=${64 * 1024 * 1024}`)
    expect(down.status).toBe(200)
    let bytes = 0
    for await (const chunk of down.body as any) bytes += chunk.length
    expect(bytes).toBe(64 * 1024 * 1024)

    const payload = crypto.randomBytes(20 * 1024 * 1024)
    const chunks = Array.from({ length: 20 }, (_, i) => payload.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024))
    const body = new ReadableStream({
      pull(c) {
        const next = chunks.shift()
        if (next) c.enqueue(next)
        else c.close()
      },
    })
    const up = await fetch(`${base}/w/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    expect(up.status).toBe(200)
    expect(await up.json()).toEqual({ bytes: payload.length, sha256: crypto.createHash('sha256').update(payload).digest('hex') })
  })

  it('refuses a streamed upload over bodyLimit with 413 JSON, declared or not', async () => {
    const { base } = await gateway({}, { bodyLimit: 1024 * 1024 })
    const declared = await fetch(`${base}/w/upload`, { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024) })
    expect(declared.status).toBe(413)
    expect((await declared.json()).message).toMatch(/larger than the limit/)
    let sent = 0
    const body = new ReadableStream({
      pull(c) {
        if (sent >= 4 * 1024 * 1024) return c.close()
        sent += 256 * 1024
        c.enqueue(new Uint8Array(256 * 1024))
      },
    })
    const chunked = await fetch(`${base}/w/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit).catch((e) => e)
    // The worker never gets more than the limit: 413 when the answer is still ours to give.
    if (chunked instanceof Error) throw chunked
    expect(chunked.status).toBe(413)
    expect((await chunked.json()).message).toMatch(/larger than the limit of 1048576 bytes/)
  })

  it('cuts an answer off past maxResponseBytes, and refuses a declared longer one with 502', async () => {
    const { base } = await gateway({ maxResponseBytes: 1024 * 1024 })
    const small = await fetch(`${base}/w/big?n=1000`)
    expect((await small.arrayBuffer()).byteLength).toBe(1000)
    const res = await fetch(`${base}/w/big?n=${4 * 1024 * 1024}`)
    expect(res.status).toBe(200)
    // Chunked, so only the stream itself can tell: it breaks off.
    const read = await res.arrayBuffer().then(
      (b) => b.byteLength,
      (e) => e,
    )
    expect(read).toBeInstanceOf(Error)
  })

  it('reuses one connection to the worker for sequential requests', async () => {
    const { base } = await gateway()
    for (let i = 0; i < 20; i++) expect(await (await fetch(`${base}/w/x`)).text()).toBe('ok')
    const { connections } = await (await fetch(`${base}/w/conns`)).json()
    // The readiness probe's connection, plus one for all 21 requests.
    expect(connections).toBeLessThanOrEqual(2)
  })

  it('a worker that answers before reading the upload does not leave its connection busy for the next request', async () => {
    const { base } = await gateway({ timeoutMs: 3000 })
    let hold!: () => void
    const held = new Promise<void>((r) => (hold = r))
    let first = true
    const body = new ReadableStream({
      async pull(c) {
        if (first) {
          first = false
          return c.enqueue(new Uint8Array(1024))
        }
        await held
        c.close()
      },
    })
    const early = await fetch(`${base}/w/early`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    expect(await early.text()).toBe('early')
    // The upload is still open; the next request gets a connection of its own at once.
    const started = Date.now()
    expect(await (await fetch(`${base}/w/x`)).text()).toBe('ok')
    expect(Date.now() - started).toBeLessThan(1000)
    hold()
  })

  it('answers 408 when a streamed upload stalls longer than bodyTimeout', async () => {
    const { base } = await gateway({}, { bodyTimeout: 300 })
    let first = true
    const body = new ReadableStream({
      pull(c) {
        if (first) {
          first = false
          c.enqueue(new Uint8Array(1024))
        }
        // then nothing: the stream stays open
      },
    })
    const res = await fetch(`${base}/w/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    expect(res.status).toBe(408)
    expect((await res.json()).message).toMatch(/did not arrive in time/)
  })

  it('a client that stops reading a download does not hold the worker: a rolling restart goes through', async () => {
    const { plugin, base } = await gateway({ timeoutMs: 400, graceMs: 60_000 })
    const res = await fetch(`${base}/w/big?n=${256 * 1024 * 1024}`)
    const reader = res.body!.getReader()
    await reader.read()
    // The client reads no more. Without the watchdog the request would stay in
    // flight and the restart would wait for the grace period (60 s).
    await plugin.restart('w')
    expect(plugin.status().services[0].ready).toBe(1)
    await reader.cancel().catch(() => {})
  }, 20_000)
})
