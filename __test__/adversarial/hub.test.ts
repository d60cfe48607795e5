// The WebSocket hub under hostile timing and input. First the cluster just
// after a node starts: a direct message to a client that another node
// acknowledged a moment ago must arrive (not "4000 client not found"),
// on Redis and on NATS, with fresh nodes every round. Then hostile clients
// of one node, each answered with a visible close code or error.
import crypto from 'node:crypto'
import net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HubPlugin } from '../../index.js'
import { deferred, listen, setup, stopAll } from '../helpers/http'
import { natsMissing, redisMissing, startNats, startRedis, type TestServer } from '../helpers/servers'
import { startNode, stopNode, type Node } from '../helpers/cluster'
import { connect, type TestClient } from '../helpers/ws'

const buses = [
  { name: 'Redis', missing: redisMissing(), start: startRedis },
  { name: 'NATS', missing: natsMissing(), start: startNats },
]

/** Rounds of two fresh nodes, and fresh target clients per round: 5 × 4 = 20 sends. */
const ROUNDS = 5
const TARGETS = 4

for (const bus of buses) {
  if (bus.missing) console.log(`[adversarial/hub] skipping the ${bus.name} cases: ${bus.missing}`)
  ;(bus.missing ? describe.skip : describe)(`the cluster just after a node starts (${bus.name})`, () => {
    let server: TestServer
    beforeAll(async () => {
      server = await bus.start()
    }, 20_000)
    afterAll(async () => {
      await server?.stop()
    })

    it('a direct message sent the moment its target connected on a fresh node is delivered', async () => {
      const tag = bus.name.toLowerCase()
      const misses: string[] = []
      for (let round = 0; round < ROUNDS; round++) {
        const nodes: Node[] = await Promise.all([startNode(server.url, `${tag}-fa${round}`), startNode(server.url, `${tag}-fb${round}`)])
        const [a, b] = nodes
        const clients: TestClient[] = []
        try {
          const sender = await connect(a.ws(`?client_id=s${round}`))
          clients.push(sender)
          for (let t = 0; t < TARGETS; t++) {
            const id = `t${round}x${t}`
            // Connected (the 101 received) on node b, then at once a direct message from node a.
            const target = await connect(b.ws(`?client_id=${id}`))
            clients.push(target)
            sender.send('direct_message', { target_id: `anon:${id}`, content: { round, t } })
            const got = await target.next('direct_message', 3000).catch((e: Error) => {
              misses.push(`round ${round} target ${t}: ${e.message}`)
              return undefined
            })
            if (got) expect(got.data).toMatchObject({ content: { round, t }, sender_id: `anon:s${round}` })
          }
          // A target nobody holds is still answered "client not found" (4000), within a bound.
          const missing = await sender.request('direct_message', { target_id: 'anon:nobody', content: 1 })
          expect(missing.message_type).toBe('error')
          expect(missing.data.code).toBe(4000)
        } finally {
          for (const c of clients) c.ws.terminate()
          await Promise.all(nodes.map(stopNode))
        }
      }
      expect(misses).toEqual([])
    }, 120_000)
  })
}

// Hostile clients of one node: each case is one attack and the answer the
// client can see (a close code, or an error message on a connection that
// stays up). Raw frames go over node:net where the ws package refuses to
// build them (unmasked, reserved opcode, an absurd length).
describe('hostile WebSocket clients', () => {
  afterEach(stopAll)

  async function hubNode(options: Record<string, unknown> = {}) {
    const plugin = new HubPlugin({ allowAnonymous: true, maxMessagesPerSecond: 0, ...options })
    const { engine } = setup({ plugins: [plugin] })
    const { port } = await listen(engine)
    return { engine, port, ws: (query = '') => `ws://127.0.0.1:${port}/ws${query}` }
  }

  /** A client frame: FIN set unless `fin` is false, masked unless `mask` is false. */
  function frame(opcode: number, payload: Buffer, { fin = true, mask = true, announce }: { fin?: boolean; mask?: boolean; announce?: number } = {}) {
    const len = announce ?? payload.length
    const head: number[] = [(fin ? 0x80 : 0) | opcode]
    const m = mask ? 0x80 : 0
    if (len < 126) head.push(m | len)
    else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff)
    else {
      head.push(m | 127)
      const b = Buffer.alloc(8)
      b.writeBigUInt64BE(BigInt(len))
      head.push(...b)
    }
    if (!mask) return Buffer.concat([Buffer.from(head), payload])
    const key = crypto.randomBytes(4)
    const body = Buffer.from(payload.map((x, i) => x ^ key[i % 4]))
    return Buffer.concat([Buffer.from(head), key, body])
  }

  /** Upgrades a raw socket; `closed` resolves with the server's close frame (1006: none). */
  async function rawWs(port: number) {
    const sock = net.connect(port, '127.0.0.1')
    await new Promise<void>((r, j) => sock.once('connect', () => r()).once('error', j))
    const key = crypto.randomBytes(16).toString('base64')
    sock.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    let buf = Buffer.alloc(0)
    let upgraded = false
    let onUpgrade!: () => void
    const open = new Promise<void>((r) => (onUpgrade = r))
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk])
        if (!upgraded) {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) return
          expect(buf.subarray(0, end).toString()).toMatch(/^HTTP\/1\.1 101/)
          buf = buf.subarray(end + 4)
          upgraded = true
          onUpgrade()
        }
        // Server frames are unmasked; look for the close frame (opcode 8).
        while (buf.length >= 2) {
          let len = buf[1] & 0x7f
          let off = 2
          if (len === 126) {
            if (buf.length < 4) return
            len = buf.readUInt16BE(2)
            off = 4
          } else if (len === 127) {
            if (buf.length < 10) return
            len = Number(buf.readBigUInt64BE(2))
            off = 10
          }
          if (buf.length < off + len) return
          const payload = buf.subarray(off, off + len)
          if ((buf[0] & 0x0f) === 8) {
            resolve({ code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString() })
          }
          buf = buf.subarray(off + len)
        }
      })
      sock.on('close', () => resolve({ code: 1006, reason: '' }))
      sock.on('error', () => resolve({ code: 1006, reason: '' }))
    })
    await open
    return { sock, closed }
  }

  it('a frame header announcing 1 GiB is refused with 1009 before any payload arrives', async () => {
    const { port } = await hubNode()
    const c = await rawWs(port)
    c.sock.write(frame(1, Buffer.alloc(0), { announce: 1 << 30 }))
    expect(await c.closed).toMatchObject({ code: 1009 })
    c.sock.destroy()
  })

  it('a flood of fragments past maxFragments is closed with 1009', async () => {
    const { ws } = await hubNode({ maxFragments: 16 })
    const c = await connect(ws())
    for (let i = 0; i < 100 && c.ws.readyState === c.ws.OPEN; i++) c.ws.send('x', { fin: false })
    expect((await c.closed).code).toBe(1009)
  })

  it('a text frame that is not UTF-8 is closed with 1007', async () => {
    const { port } = await hubNode()
    const c = await rawWs(port)
    c.sock.write(frame(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))
    expect(await c.closed).toMatchObject({ code: 1007 })
    c.sock.destroy()
  })

  it('an unmasked client frame is closed with 1002', async () => {
    const { port } = await hubNode()
    const c = await rawWs(port)
    c.sock.write(frame(1, Buffer.from('{"message_type":"ping"}'), { mask: false }))
    expect(await c.closed).toMatchObject({ code: 1002, reason: 'client frames must be masked' })
    c.sock.destroy()
  })

  it('a reserved opcode is closed with 1002', async () => {
    const { port } = await hubNode()
    const c = await rawWs(port)
    c.sock.write(frame(0x3, Buffer.from('?')))
    expect(await c.closed).toMatchObject({ code: 1002, reason: 'reserved opcode' })
    c.sock.destroy()
  })

  it('a flood of 5000 pings leaves the connection up and serving', async () => {
    const { ws } = await hubNode()
    const c = await connect(ws())
    for (let i = 0; i < 5000; i++) c.ws.ping('p')
    expect((await c.request('ping', { ts: 1 })).message_type).toBe('pong')
    expect(c.ws.readyState).toBe(c.ws.OPEN)
  })

  it('JSON that is not an object is answered with error 1001, and the connection stays up', async () => {
    const { ws } = await hubNode()
    const c = await connect(ws())
    for (const text of ['[1,2]', '"text"', 'null', '42', '{"message_type":', 'not json']) {
      c.ws.send(text)
      const err = await c.next('error')
      expect(err.data.code).toBe(1001)
    }
    expect((await c.request('ping', {})).message_type).toBe('pong')
  })

  it('an unknown message type is answered with error 1000 naming it', async () => {
    const { ws } = await hubNode()
    const c = await connect(ws())
    const err = await c.request('drop_tables', { all: true })
    expect(err.message_type).toBe('error')
    expect(err.data.code).toBe(1000)
    expect(JSON.stringify(err.data)).toContain('drop_tables')
  })

  it('a 64 KB room id is refused with error 1001 (not echoed back) in join, leave and room messages', async () => {
    const { ws, engine } = await hubNode()
    const c = await connect(ws())
    const huge = 'r'.repeat(65536)
    for (const [type, data] of [
      ['join_room', { room_id: huge }],
      ['leave_room', { room_id: huge }],
      ['room_message', { room_id: huge, content: 'hi' }],
    ] as const) {
      const err = await c.request(type, data)
      expect(err.message_type).toBe('error')
      expect(err.data.code).toBe(1001)
      expect(JSON.stringify(err).length).toBeLessThan(1024)
    }
    expect(engine.hub.rooms()).toEqual([])
  })

  it('a client that stops reading is closed with 1008 once its send queue is full; the sender keeps being served', async () => {
    const { ws, engine } = await hubNode({ maxMessageSize: 128 * 1024, sendQueue: { maxMessages: 64, maxBytes: 256 * 1024 } })
    engine.hub.createRoom('flood')
    const gone = deferred<number>()
    engine.hub.onDisconnect((client: any, close: any) => {
      if (client.id === 'anon:slow') gone.resolve(close.code)
    })
    const [slow, sender] = await Promise.all([connect(ws('?client_id=slow')), connect(ws('?client_id=sender'))])
    for (const x of [slow, sender]) expect((await x.request('join_room', { room_id: 'flood' })).message_type).toBe('room_joined')
    slow.ws.pause()
    const content = 'x'.repeat(64 * 1024)
    // 300 × 64 KB: far more than the socket buffers and the queue hold.
    for (let i = 0; i < 300; i++) sender.send('room_message', { room_id: 'flood', content })
    expect(await gone.promise).toBe(1008)
    expect((await sender.request('ping', {})).message_type).toBe('pong')
    slow.ws.terminate()
  })
})
