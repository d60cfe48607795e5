// The WebSocket hub under hostile timing and input. First the cluster just
// after a node starts: a direct message to a client that another node
// acknowledged a moment ago must arrive (not "4000 client not found"),
// on Redis and on NATS, with fresh nodes every round.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
