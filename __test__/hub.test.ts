// The WebSocket hub as a user sees it: HubPlugin on the engine's own port,
// GoHub's wire format, auth before the upgrade, rooms, custom types handled in
// TypeScript (hub.on and @WsHandler with plugin chains), events, the server
// SDK, the admin API and /metrics.
import { afterEach, describe, expect, it } from 'vitest'
import { HubPlugin, HubError, WsHandler, Route, PluginPriority, MetricsPlugin } from '../index.js'
import { setup, listen, stopAll, deferred } from './helpers/http'
import { connect } from './helpers/ws'
import { signJwt, now, keyPair } from './helpers/jwt'

afterEach(stopAll)

const SECRET = 'a-hub-secret-of-at-least-32-bytes!!!'
const ADMIN = 'admin-token-0123456789'
const token = (claims: Record<string, unknown> = {}, key = SECRET) =>
  signJwt({ user_id: 'u1', permissions: ['join:room', 'send:message'], exp: now() + 60, iss: 'nebula', ...claims }, { key })

async function hubApp(options: Record<string, unknown> = {}, plugins: unknown[] = []) {
  const plugin = new HubPlugin({ auth: { secret: SECRET, issuer: 'nebula' }, adminToken: ADMIN, ...options })
  const { Module, engine } = setup({ plugins: [plugin, ...plugins] })
  return { Module, engine, hub: plugin.hub, plugin }
}

async function started(engine: any) {
  const { port, base } = await listen(engine)
  return { base, ws: (query = '') => `ws://127.0.0.1:${port}/ws${query}` }
}

describe('the docs scenario', () => {
  it('a browser-style client joins the lobby with a token in the query', async () => {
    const { engine } = await hubApp({ allowAnonymous: false })
    engine.hub.createRoom('lobby', { name: 'Lobby', maxClients: 100 })
    const { ws } = await started(engine)
    const c = await connect(ws(`?token=${token()}`))
    c.send('join_room', { room_id: 'lobby' }, 1)
    const joined = await c.next('room_joined')
    expect(joined.request_id).toBe(1)
    expect(joined.data).toEqual({ room_id: 'lobby', status: 'joined' })
    expect(engine.hub.room('lobby').members).toEqual(['u1'])
    await c.close()
  })

  it('the token may come in Authorization: Bearer', async () => {
    const { engine } = await hubApp()
    const { ws } = await started(engine)
    const c = await connect(ws(), { headers: { authorization: `Bearer ${token({ user_id: 'bob' })}` } })
    const pong = await c.request('ping', { ts: Date.now() })
    expect(pong.message_type).toBe('pong')
    expect(engine.hub.clients().map((x: any) => x.id)).toEqual(['bob'])
  })
})

describe('auth before the upgrade', () => {
  const refused = async (url: string, options = {}) => {
    try {
      await connect(url, options)
    } catch (err: any) {
      return err.status
    }
    throw new Error('the upgrade was accepted')
  }

  it('answers 401 for a missing, forged, expired, wrong-issuer or unsigned token', async () => {
    const { engine } = await hubApp()
    const { ws } = await started(engine)
    expect(await refused(ws())).toBe(401)
    expect(await refused(ws(`?token=${token({}, 'another-secret-another-secret-1234')}`))).toBe(401)
    expect(await refused(ws(`?token=${token({ exp: now() - 60 })}`))).toBe(401)
    expect(await refused(ws(`?token=${token({ iss: 'someone-else' })}`))).toBe(401)
    expect(await refused(ws(`?token=${signJwt({ user_id: 'x', exp: now() + 60, iss: 'nebula' }, { alg: 'none' })}`))).toBe(401)
    expect(engine.hub.stats().counters.auth_failure).toBe(5)
  })

  it('refuses HS256 tokens signed with the public key of an RS256 hub', async () => {
    const { publicKey, privateKey } = keyPair('rsa')
    const { engine } = await hubApp({ auth: { publicKey, algorithms: ['RS256'] } })
    const { ws } = await started(engine)
    const good = signJwt({ user_id: 'r', exp: now() + 60 }, { alg: 'RS256', key: privateKey })
    const c = await connect(ws(`?token=${good}`))
    await c.close()
    const confused = signJwt({ user_id: 'r', exp: now() + 60 }, { alg: 'HS256', key: publicKey })
    expect(await refused(ws(`?token=${confused}`))).toBe(401)
  })

  it('answers 403 for an origin outside the allow-list', async () => {
    const { engine } = await hubApp({ allowedOrigins: ['https://app.example.com'], allowAnonymous: true })
    const { ws } = await started(engine)
    expect(await refused(ws(), { origin: 'https://evil.example.com' })).toBe(403)
    const ok = await connect(ws(), { origin: 'https://app.example.com' })
    await ok.close()
  })

  it('closes the socket with 1008 when the token expires while connected', async () => {
    const { engine } = await hubApp({ auth: { secret: SECRET, issuer: 'nebula', leeway: 0 } })
    const { ws } = await started(engine)
    const c = await connect(ws(`?token=${token({ exp: now() + 1 })}`))
    const closed = await c.closed
    expect(closed.code).toBe(1008)
    expect(closed.reason).toMatch(/expired/)
  })
})

describe('rooms and messages', () => {
  it('room messages reach every member but the sender; errors name the request', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    engine.hub.createRoom('r', { maxClients: 2 })
    const { ws } = await started(engine)
    const a = await connect(ws('?client_id=a'))
    const b = await connect(ws('?client_id=b'))
    const c = await connect(ws('?client_id=c'))
    await a.request('join_room', { room_id: 'r' })
    await b.request('join_room', { room_id: 'r' })
    const full = await c.request('join_room', { room_id: 'r' })
    expect(full.message_type).toBe('error')
    expect(full.data.code).toBe(3002)
    a.send('room_message', { room_id: 'r', content: 'hello' })
    const got = await b.next('room_message')
    expect(got.data).toMatchObject({ room_id: 'r', content: 'hello', sender_id: 'anon:a' })
    const unknown = await a.request('no_such_type', {})
    expect(unknown.data).toMatchObject({ code: 1000 })
    a.ws.send('{ not json')
    expect((await a.next('error')).data.code).toBe(1001)
  })

  it('a second connection with the same client id closes the first (4000)', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    const { ws } = await started(engine)
    const first = await connect(ws(`?token=${token({ user_id: 'same' })}`))
    const second = await connect(ws(`?token=${token({ user_id: 'same' })}`))
    expect((await first.closed).code).toBe(4000)
    expect((await second.request('ping', {})).message_type).toBe('pong')
  })

  it('anonymous ids live apart from signed-in ones, and an anonymous id in use is refused', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    const { ws } = await started(engine)
    const user = await connect(ws(`?token=${token({ user_id: 'alice' })}`))
    const guest = await connect(ws('?client_id=alice'))
    expect(engine.hub.clients().map((c: any) => c.id)).toEqual(['alice', 'anon:alice'])
    await expect(connect(ws('?client_id=alice'))).rejects.toMatchObject({ status: 409 })
    expect((await user.request('ping', {})).message_type).toBe('pong')
    await guest.close()
    await user.close()
  })

  it('a message over maxMessageSize closes the socket with 1009', async () => {
    const { engine } = await hubApp({ allowAnonymous: true, maxMessageSize: 1024 })
    const { ws } = await started(engine)
    const c = await connect(ws())
    c.ws.send(JSON.stringify({ message_type: 'ping', data: 'x'.repeat(2000) }))
    expect((await c.closed).code).toBe(1009)
  })
})

describe('TypeScript handlers and events', () => {
  it('hub.on: a returned value answers the request; HubError and other errors become error messages', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    engine.hub.on('add', (_client: any, data: any) => ({ sum: data.a + data.b }))
    engine.hub.on('async', async (client: any) => ({ you: client.id }))
    engine.hub.on('refuse', () => {
      throw new HubError(3003, 'you are not in that room')
    })
    engine.hub.on('crash', () => {
      throw new Error('internal detail that must not leak')
    })
    engine.hub.on('quiet', () => undefined)
    const { ws } = await started(engine)
    const c = await connect(ws('?client_id=me'))
    const sum = await c.request('add', { a: 2, b: 3 })
    expect(sum).toMatchObject({ message_type: 'add', data: { sum: 5 } })
    expect((await c.request('async', {})).data).toEqual({ you: 'anon:me' })
    const refused = await c.request('refuse', {})
    expect(refused.data).toMatchObject({ code: 3003, details: 'you are not in that room' })
    const crashed = await c.request('crash', {})
    expect(crashed.data.code).toBe(1003)
    expect(JSON.stringify(crashed)).not.toContain('internal detail')
    c.send('quiet', {}, 77)
    expect((await c.request('ping', {})).message_type).toBe('pong') // nothing came for "quiet"
  })

  it('HubError codes are checked; errors that are not HubErrors never reach the client', async () => {
    expect(() => new HubError('nope' as any, 'x')).toThrow(TypeError)
    expect(() => new HubError(42, 'x')).toThrow(/1000 to 4999/)
    const { engine } = await hubApp({ allowAnonymous: true })
    engine.hub.on('odd', async () => {
      throw Object.assign(new Error('secret detail'), { code: 3003 })
    })
    engine.hub.on('bigint', () => ({ n: 1n }))
    const { ws } = await started(engine)
    const c = await connect(ws())
    const odd = await c.request('odd', {})
    expect(odd.data.code).toBe(1003)
    expect(JSON.stringify(odd)).not.toContain('secret detail')
    expect((await c.request('bigint', {})).data.code).toBe(1003)
    expect((await c.request('ping', {})).message_type).toBe('pong') // the process is still fine
  })

  it('client.send() and client.disconnect() reach only that connection, never a newer one', async () => {
    const { engine } = await hubApp()
    const first = deferred<any>()
    let seen = 0
    engine.hub.onConnect((c: any) => {
      if (seen++ === 0) first.resolve(c)
    })
    const { ws } = await started(engine)
    const old = await connect(ws(`?token=${token({ user_id: 'dup' })}`))
    const oldClient = await first.promise
    const fresh = await connect(ws(`?token=${token({ user_id: 'dup' })}`))
    await old.closed
    expect(oldClient.send('late', { x: 1 })).toBe(false)
    expect(oldClient.disconnect()).toBe(false)
    expect((await fresh.request('ping', {})).message_type).toBe('pong')
  })

  it('a permission on a handler is required of the sender (2001)', async () => {
    const { engine } = await hubApp()
    engine.hub.on('moderate', () => 'ok', { permission: 'admin:room' })
    const { ws } = await started(engine)
    const user = await connect(ws(`?token=${token()}`))
    expect((await user.request('moderate', {})).data.code).toBe(2001)
    const admin = await connect(ws(`?token=${token({ user_id: 'boss', permissions: ['admin:system'] })}`))
    expect((await admin.request('moderate', {})).data).toBe('ok')
  })

  it('connect, join, leave and disconnect events arrive in order', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    engine.hub.createRoom('r')
    const seen: string[] = []
    const gone = deferred()
    engine.hub
      .onConnect((c: any) => seen.push(`connect ${c.id}`))
      .onJoin((c: any, room: string) => seen.push(`join ${c.id} ${room}`))
      .onLeave((c: any, room: string) => seen.push(`leave ${c.id} ${room}`))
      .onDisconnect((c: any, close: any) => {
        seen.push(`disconnect ${c.id} ${close.code}`)
        gone.resolve()
      })
    const { ws } = await started(engine)
    const c = await connect(ws('?client_id=e'))
    await c.request('join_room', { room_id: 'r' })
    await c.close()
    await gone.promise
    expect(seen).toEqual(['connect anon:e', 'join anon:e r', 'leave anon:e r', 'disconnect anon:e 1000'])
  })

  it('@WsHandler methods run through the plugins’ wrap chains in priority order', async () => {
    const order: string[] = []
    const tracer = (name: string, priority: number) => ({
      name,
      priority,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers)
          h.wrap(async (next: () => Promise<unknown>) => {
            order.push(`${name} in`)
            const out = await next()
            order.push(`${name} out`)
            return out
          })
      },
    })
    const { Module, engine } = await hubApp({ allowAnonymous: true }, [tracer('outer', PluginPriority.SECURITY), tracer('inner', PluginPriority.BUSINESS)])
    @Module('chat')
    class Chat {
      @WsHandler('typing')
      typing(client: any, data: any) {
        order.push('handler')
        return { typing: client.id, room: data.room }
      }
    }
    void Chat
    const { ws } = await started(engine)
    const c = await connect(ws('?client_id=t'))
    const answer = await c.request('typing', { room: 'x' })
    expect(answer.data).toEqual({ typing: 'anon:t', room: 'x' })
    expect(order).toEqual(['outer in', 'inner in', 'handler', 'inner out', 'outer out'])
  })
})

describe('the server SDK', () => {
  it('toRoom, toClient and broadcast deliver from TypeScript; fan-out is counted per recipient in Rust', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    engine.hub.createRoom('room')
    const { ws } = await started(engine)
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(ws(`?client_id=c${i}`))))
    await Promise.all(clients.map((c) => c.request('join_room', { room_id: 'room' })))
    const before = engine.hub.stats().counters.messages_sent
    expect(engine.hub.toRoom('room', 'news', { n: 1 }, { except: 'anon:c0' })).toBe(19)
    for (const c of clients.slice(1)) expect((await c.next('news')).data).toEqual({ n: 1 })
    expect(engine.hub.stats().counters.messages_sent - before).toBe(19)
    expect(engine.hub.broadcast('all', 'hi')).toBe(20)
    await Promise.all(clients.map((c) => c.next('all')))
    expect(engine.hub.toClient('anon:c3', 'dm', { x: 1 })).toBe(true)
    expect((await clients[3].next('dm')).data).toEqual({ x: 1 })
    expect(engine.hub.toClient('nobody', 'dm', {})).toBe(false)
    expect(() => engine.hub.toRoom('missing', 'x', {})).toThrow(HubError)
    expect(engine.hub.disconnect('anon:c5', { reason: 'bye' })).toBe(true)
    expect((await clients[5].closed).code).toBe(4001)
  })

  it('rooms are managed before and after start; stop() closes sockets with 1001', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    engine.hub.createRoom('early')
    expect(() => engine.hub.createRoom('early')).toThrow(/exists/)
    const { ws } = await started(engine)
    expect(engine.hub.rooms().map((r: any) => r.id)).toEqual(['early'])
    engine.hub.createRoom('late', { maxClients: 3 })
    expect(engine.hub.rooms().map((r: any) => [r.id, r.max_clients])).toEqual([
      ['early', 0],
      ['late', 3],
    ])
    expect(engine.hub.deleteRoom('late')).toBe(true)
    expect(engine.hub.deleteRoom('late')).toBe(false)
    const c = await connect(ws())
    await engine.stop()
    expect((await c.closed).code).toBe(1001)
  })
})

describe('admin API and metrics', () => {
  it('is guarded by the admin token and manages rooms, clients and broadcasts', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    const { base, ws } = await started(engine)
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }
    expect((await fetch(`${base}/api/stats`)).status).toBe(401)
    expect((await fetch(`${base}/api/stats`, { headers: { authorization: 'Bearer wrong-token-123456' } })).status).toBe(401)
    const created = await fetch(`${base}/api/rooms`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'ops', name: 'Ops', max_clients: 5 }) })
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({ id: 'ops', name: 'Ops', max_clients: 5 })
    const dup = await fetch(`${base}/api/rooms`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'ops' }) })
    expect(dup.status).toBe(409)
    expect((await dup.json()).code).toBe(3001)
    const bad = await fetch(`${base}/api/rooms`, { method: 'POST', headers: admin, body: '{"name": 1}' })
    expect(bad.status).toBe(400)
    const c = await connect(ws('?client_id=watcher'))
    const clients = await (await fetch(`${base}/api/clients`, { headers: admin })).json()
    expect(clients.clients.map((x: any) => x.id)).toEqual(['anon:watcher'])
    const sent = await fetch(`${base}/api/broadcast`, { method: 'POST', headers: admin, body: JSON.stringify({ message: { text: 'maintenance' } }) })
    expect(await sent.json()).toEqual({ sent: 1 })
    expect((await c.next('broadcast')).data).toEqual({ text: 'maintenance' })
    const stats = await (await fetch(`${base}/api/stats`, { headers: admin })).json()
    expect(stats).toMatchObject({ clients: 1, rooms: 1 })
    expect((await fetch(`${base}/api/rooms/ops`, { method: 'DELETE', headers: admin })).status).toBe(204)
    expect((await fetch(`${base}/api/rooms/ops`, { method: 'DELETE', headers: admin })).status).toBe(404)
  })

  it('/metrics shows the hub series next to the HTTP ones', async () => {
    const { engine } = await hubApp({ allowAnonymous: true }, [new MetricsPlugin()])
    const { base, ws } = await started(engine)
    const c = await connect(ws())
    await c.request('ping', {})
    const text = await (await fetch(`${base}/metrics`)).text()
    expect(text).toMatch(/\nnebula_hub_connected_clients 1\n/)
    expect(text).toMatch(/\nnebula_hub_messages_total 1\n/)
    expect(text).toContain('nebula_hub_message_latency_seconds_bucket')
    expect(text).toContain('nebula_requests_received_total') // the engine's own series
  })

  it('without MetricsPlugin, /metrics still serves the hub series', async () => {
    const { engine } = await hubApp({ allowAnonymous: true })
    const { base } = await started(engine)
    const res = await fetch(`${base}/metrics`)
    expect(res.headers.get('content-type')).toContain('text/plain')
    expect(await res.text()).toContain('nebula_hub_connected_clients 0')
  })
})

describe('configuration', () => {
  it('bad options throw a TypeError naming the option', () => {
    expect(() => new HubPlugin({ pth: '/x' } as any)).toThrow(/pth/)
    expect(() => new HubPlugin({ auth: { secret: 'short' } })).toThrow(/secret/)
    expect(() => new HubPlugin({ sendQueue: { onFull: 'explode' } } as any)).toThrow(/onFull/)
    expect(() => new HubPlugin({ bus: { type: 'redis' } } as any)).toThrow(/bus/)
  })

  it('a route on the hub path fails the start with a clear message', async () => {
    const { Module, engine } = await hubApp()
    @Module('clash')
    class Clash {
      @Route({ path: '/ws' })
      ws() {
        return 'no'
      }
    }
    void Clash
    await expect(engine.start(0)).rejects.toThrow(/collides with \/ws/)
  })

  it('a plain GET on the hub path is told to upgrade (426)', async () => {
    const { engine } = await hubApp()
    const { base } = await started(engine)
    const res = await fetch(`${base}/ws`)
    expect(res.status).toBe(426)
    expect((await res.json()).message).toMatch(/upgrade/)
  })
})
