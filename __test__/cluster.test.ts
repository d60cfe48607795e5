// The hub across processes: three engine nodes (separate Node processes) on
// a real redis-server, then on a real nats-server, each started here on a
// free port. Room messages, broadcasts and direct messages cross nodes;
// presence, room counts and max_clients span the cluster; and the faults: a
// frozen node, the bus server restarting, a node killed with SIGKILL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { natsMissing, redisMissing, startNats, startRedis, type TestServer } from './helpers/servers'
import { eventually, startNode, stopNode, type Node } from './helpers/cluster'
import { connect, type TestClient } from './helpers/ws'
import { now, signJwt } from './helpers/jwt'

const SECRET = 'cluster-secret-of-at-least-32-bytes!!'
const TTL = 1000
const token = (id: string) => signJwt({ user_id: id, permissions: ['join:room', 'send:message'], exp: now() + 600, iss: 'nebula' }, { key: SECRET })

const buses = [
  { name: 'Redis', missing: redisMissing(), start: startRedis },
  { name: 'NATS', missing: natsMissing(), start: startNats },
]

for (const bus of buses) {
  if (bus.missing) console.log(`[cluster] skipping the ${bus.name} cluster tests: ${bus.missing}`)
  ;(bus.missing ? describe.skip : describe)(`three nodes over ${bus.name}`, () => {
    let server: TestServer
    let n1: Node, n2: Node, n3: Node
    const clients: TestClient[] = []
    const client = async (n: Node, id: string, signed = false) => {
      const c = await connect(n.ws(signed ? `?token=${token(id)}` : `?client_id=${id}`))
      clients.push(c)
      return c
    }
    const join = async (c: TestClient, room: string) => {
      const answer = await c.request('join_room', { room_id: room })
      expect(answer.message_type).toBe('room_joined')
    }
    const stats = async (n: Node) => (await n.api('stats')).body

    beforeAll(async () => {
      server = await bus.start()
      const tag = bus.name.toLowerCase()
      ;[n1, n2, n3] = await Promise.all([startNode(server.url, `${tag}-n1`), startNode(server.url, `${tag}-n2`), startNode(server.url, `${tag}-n3`)])
      await eventually('three nodes that know each other', async () => {
        const all = await Promise.all([n1, n2, n3].map(stats))
        return all.every((s) => s.cluster.nodes === 3 && s.cluster.bus.connected && s.cluster.peers.every((p: any) => p.synced))
      })
    }, 30_000)

    afterAll(async () => {
      for (const c of clients) c.ws.terminate()
      for (const n of [n1, n2, n3]) if (n) n.child.kill('SIGKILL')
      await server?.stop()
    })

    it('delivers a room message to the members on every node exactly once, never to the sender', async () => {
      const [a, b, c] = await Promise.all([client(n1, 'a'), client(n2, 'b'), client(n3, 'c')])
      for (const x of [a, b, c]) await join(x, 'lobby')
      await eventually('3 members seen from n1', async () => (await n1.api('rooms/lobby')).body.clients === 3)
      a.send('room_message', { room_id: 'lobby', content: 'hi' })
      for (const x of [b, c]) {
        const m = await x.next('room_message')
        expect(m.data).toMatchObject({ room_id: 'lobby', content: 'hi', sender_id: 'anon:a' })
      }
      // The next message each gets is the second one: no duplicate of the first, no echo.
      c.send('room_message', { room_id: 'lobby', content: 'two' })
      expect((await a.next('room_message')).data.content).toBe('two')
      expect((await b.next('room_message')).data.content).toBe('two')
      a.send('room_message', { room_id: 'lobby', content: 'three' })
      expect((await c.next('room_message')).data.content).toBe('three')
    })

    it('broadcasts from the admin API of any node and sends direct messages across nodes', async () => {
      const [d, e, f] = await Promise.all([client(n1, 'd'), client(n2, 'e'), client(n3, 'f')])
      await eventually('f known on n2', async () => (await n2.api('clients')).body.cluster.clients.some((x: any) => x.id === 'anon:f'))
      const res = await n2.api('broadcast', { method: 'POST', body: JSON.stringify({ message: { hello: 'all' } }) })
      expect(res.status).toBe(200)
      for (const x of [d, e, f]) expect((await x.next('broadcast')).data).toEqual({ hello: 'all' })
      d.send('direct_message', { target_id: 'anon:f', content: 'psst' })
      expect((await f.next('direct_message')).data).toMatchObject({ content: 'psst', sender_id: 'anon:d' })
    })

    it('reports the cluster in /api/stats and /api/clients', async () => {
      const s = await stats(n3)
      expect(s.node).toBe(n3.id)
      expect(s.cluster.nodes).toBe(3)
      expect(s.cluster.peers.map((p: any) => p.id).sort()).toEqual([n1.id, n2.id].sort())
      const list = (await n3.api('clients')).body
      const where = Object.fromEntries(list.cluster.clients.map((c: any) => [c.id, c.node]))
      expect(where).toMatchObject({ 'anon:a': n1.id, 'anon:b': n2.id, 'anon:c': n3.id })
      expect(list.clients.length).toBeGreaterThan(0)
      expect(list.clients.every((c: any) => where[c.id] === n3.id)).toBe(true)
      expect(s.cluster.clients).toBe(list.cluster.count)
    })

    it('keeps one connection per client id across nodes', async () => {
      const first = await client(n1, 'carol', true)
      await eventually('carol known on n2', async () => (await n2.api('clients')).body.cluster.clients.some((x: any) => x.id === 'carol'))
      const second = await client(n2, 'carol', true)
      expect(await first.closed).toMatchObject({ code: 4000 })
      expect((await second.request('ping', { ts: Date.now() })).message_type).toBe('pong')
    })

    it('refuses an anonymous client whose id is connected on another node', async () => {
      await client(n1, 'zed')
      await eventually('zed known on n2', async () => (await n2.api('clients')).body.cluster.clients.some((x: any) => x.id === 'anon:zed'))
      await expect(connect(n2.ws('?client_id=zed'))).rejects.toMatchObject({ status: 409 })
    })

    it('counts members of every node toward max_clients', async () => {
      const [x, y, z] = await Promise.all([client(n1, 'x'), client(n2, 'y'), client(n3, 'z')])
      await join(x, 'small')
      await join(y, 'small')
      await eventually('2 members seen from n3', async () => (await n3.api('rooms/small')).body.clients === 2)
      const refused = await z.request('join_room', { room_id: 'small' })
      expect(refused.message_type).toBe('error')
      expect(refused.data.code).toBe(3002)
    })

    it('a frozen node does not slow the others', async () => {
      const [p, q] = await Promise.all([client(n1, 'p'), client(n2, 'q')])
      const r = await client(n3, 'r')
      for (const x of [p, q, r]) await join(x, 'lobby')
      await eventually('r seen in the lobby from n1', async () => (await n1.api('rooms/lobby')).body.members.includes('anon:r'))
      n3.child.kill('SIGSTOP')
      try {
        for (let i = 0; i < 200; i++) p.send('room_message', { room_id: 'lobby', content: i })
        for (let i = 0; i < 200; i++) expect((await q.next('room_message', 5000)).data.content).toBe(i)
      } finally {
        n3.child.kill('SIGCONT')
      }
      // Thawed, it catches up on its own.
      p.send('room_message', { room_id: 'lobby', content: 'after' })
      // (after the backlog it missed while frozen, or part of it: at most once)
      while ((await r.next('room_message', 5000)).data.content !== 'after');
    })

    it('keeps local delivery through a bus outage, then reconnects and resumes cross-node delivery', async () => {
      const [g, h] = await Promise.all([client(n1, 'g'), client(n1, 'h')])
      const i = await client(n2, 'i')
      for (const x of [g, h, i]) await join(x, 'lobby')
      await eventually('i seen in the lobby from n1', async () => (await n1.api('rooms/lobby')).body.members.includes('anon:i'))
      await server.stop()
      await eventually('n1 to notice the outage', async () => !(await stats(n1)).cluster.bus.connected)
      g.send('room_message', { room_id: 'lobby', content: 'during' })
      expect((await h.next('room_message')).data.content).toBe('during')
      await server.start()
      await eventually('both nodes back on the bus', async () => {
        const [s1, s2] = await Promise.all([stats(n1), stats(n2)])
        return s1.cluster.bus.connected && s2.cluster.bus.connected
      })
      // Cross-node delivery resumes (each try is one message; at most once while resubscribing).
      await eventually('i to get a message from g again', async () => {
        g.send('room_message', { room_id: 'lobby', content: 'after' })
        return (await i.next('room_message', 300)).data.content === 'after'
      })
      const s1 = await stats(n1)
      expect(s1.cluster.bus.reconnects).toBeGreaterThanOrEqual(1)
      expect(s1.cluster.bus.down_ms).toBeGreaterThan(0)
      // …and in the node's log (stderr).
      expect(n1.log.some((l) => l.includes('bus connection lost'))).toBe(true)
      expect(n1.log.some((l) => l.includes('bus connection restored'))).toBe(true)
    }, 30_000)

    it('a node killed with SIGKILL leaves presence within the TTL; the others keep serving', async () => {
      const [j, k] = await Promise.all([client(n1, 'j'), client(n2, 'k')])
      await client(n3, 'l')
      for (const x of [j, k]) await join(x, 'lobby')
      await eventually('l known on n1', async () => (await n1.api('clients')).body.cluster.clients.some((x: any) => x.id === 'anon:l'))
      n3.child.kill('SIGKILL')
      const killed = Date.now()
      await eventually('n3 gone from n1', async () => (await stats(n1)).cluster.nodes === 2, TTL * 3)
      expect(Date.now() - killed).toBeLessThan(TTL + 1000)
      const list = (await n1.api('clients')).body.cluster.clients
      expect(list.some((x: any) => x.id === 'anon:l')).toBe(false)
      j.send('room_message', { room_id: 'lobby', content: 'still here' })
      await eventually('k to get it', async () => (await k.next('room_message', 2000)).data.content === 'still here')
      await stopNode(n2)
      await eventually('a stopped node leaves at once', async () => (await stats(n1)).cluster.nodes === 1, TTL / 2)
    })
  })
}
