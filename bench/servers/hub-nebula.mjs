// nebula-native's WebSocket hub (HubPlugin, Rust) for the `hub` scenario:
// one room "bench", anonymous clients, GoHub's wire format on /ws. With
// NEBULA_BUS (and CLUSTER_NODES) it is one node of the `cluster` scenario.
import nebula from '../../index.js'
import { PORT, ready } from './common.mjs'

const { Microservice, HubPlugin } = nebula

const options = {
  path: '/ws',
  allowAnonymous: true,
  // No keep-alive traffic during a run (the ws hub sends none either).
  pingIntervalMs: 0,
  idleTimeoutMs: 0,
  // Far above what a window of in-flight messages can queue per client.
  sendQueue: { maxMessages: 65_536, maxBytes: 64 * 1024 * 1024, onFull: 'disconnect' },
  maxConnections: 20_000,
  // The sender sends thousands of messages per second; the other hubs have no limit.
  maxMessagesPerSecond: 0,
}
const plugin = new HubPlugin(options)
const engine = new Microservice({ name: 'bench-hub', version: '1.0.0', hostname: '127.0.0.1' }).plugin(plugin)
engine.hub.createRoom('bench')
const port = await engine.start(PORT)
// In a cluster (NEBULA_BUS set), ready once CLUSTER_NODES nodes know each other.
const nodes = Number(process.env.CLUSTER_NODES ?? 1)
while (nodes > 1) {
  const c = engine.hub.stats().cluster
  if (c && c.nodes >= nodes && c.peers.every((p) => p.synced)) break
  await new Promise((r) => setTimeout(r, 50))
}
ready(port)
