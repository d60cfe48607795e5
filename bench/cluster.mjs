// The `cluster` scenario of `npm run bench`: cross-node room fan-out. Three
// nebula hub nodes (servers/hub-nebula.mjs) joined over a real redis-server
// and over a real nats-server (started here on free ports), PER_NODE
// receivers on each node and one sender on the first, measured by hub_load
// (deliveries/s, p99 send → receive); beside one node holding all receivers.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.mjs'
import { runHubLoad } from './hub-load.mjs'

/** Spawns `cmd` and resolves once its output contains `readyText`. */
function spawnReady(cmd, args, readyText, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${cmd} not ready within 30 s: ${out.slice(-500)}`))
    }, 30_000)
    const onData = (d) => {
      out += d
      if (out.includes(readyText)) {
        clearTimeout(timer)
        resolve(child)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${cmd} exited (${code}): ${out.slice(-500)}`))
    })
  })
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 5000)
  await once(child, 'exit')
  clearTimeout(t)
}

const BUSES = {
  redis: {
    label: 'Redis pub/sub',
    binary: 'redis-server',
    start: (port) => ['redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 'Ready to accept connections'],
    url: (port) => `redis://127.0.0.1:${port}`,
  },
  nats: {
    label: 'NATS',
    binary: 'nats-server',
    start: (port) => ['nats-server', ['-a', '127.0.0.1', '-p', String(port), '-sd', mkdtempSync(join(tmpdir(), 'bench-nats-'))], 'Server is ready'],
    url: (port) => `nats://127.0.0.1:${port}`,
  },
}

/**
 * Runs the scenario; pushes its markdown section onto `lines` and returns the rows.
 * `o`: { here, hubLoad, perNode, nodes, rounds, duration, window, payload, fmt, median }
 */
export async function clusterScenario(title, lines, o) {
  const clients = o.perNode * o.nodes
  async function nodes(n, env) {
    const ports = await Promise.all(Array.from({ length: n }, freePort))
    const children = await Promise.all(
      ports.map((port, i) =>
        spawnReady('node', ['servers/hub-nebula.mjs'], 'ready', {
          cwd: o.here,
          env: { ...process.env, PORT: String(port), NEBULA_NODE_ID: `bench-n${i + 1}`, CLUSTER_NODES: String(n), ...env },
        }),
      ),
    )
    return { ports, children }
  }
  function load(ports, window, duration = o.duration) {
    const args = [
      '--port',
      ports.join(','),
      '--clients',
      String(clients),
      '--payload',
      String(o.payload),
      '--window',
      String(window),
      '--duration',
      String(duration),
      '--warmup',
      '1',
    ]
    return runHubLoad(o.hubLoad, args)
  }
  async function measure(label, ports) {
    await load(ports, o.window, 1) // warm-up
    const rounds = []
    for (let i = 0; i < o.rounds; i++) rounds.push(await load(ports, o.window))
    const single = []
    for (let i = 0; i < o.rounds; i++) single.push(await load(ports, 1, 2))
    const all = [...rounds, ...single]
    return {
      label,
      deliveries: o.median(rounds.map((r) => r.deliveries_per_s)),
      p50: o.median(rounds.map((r) => r.p50_ms)),
      p99: o.median(rounds.map((r) => r.p99_ms)),
      p99Single: o.median(single.map((r) => r.p99_ms)),
      errors: all.reduce((n, r) => n + r.errors, 0),
      lost: all.reduce((n, r) => n + r.lost, 0),
    }
  }
  const rows = []
  const notes = []
  process.stdout.write(`cluster · one node, ${clients} receivers … `)
  {
    const { ports, children } = await nodes(1, {})
    try {
      const r = await measure(`1 node (no bus), ${clients} receivers`, ports)
      rows.push(r)
      console.log(`${o.fmt(r.deliveries)} deliveries/s, p99 ${o.fmt(r.p99, 2)} ms`)
    } finally {
      await Promise.all(children.map(stop))
    }
  }
  for (const [name, bus] of Object.entries(BUSES)) {
    process.stdout.write(`cluster · ${o.nodes} nodes over ${bus.label} … `)
    if (spawnSync('sh', ['-c', `command -v ${bus.binary}`]).status !== 0) {
      console.log(`skipped: ${bus.binary} is not installed`)
      notes.push(`${bus.label}: skipped, ${bus.binary} is not installed.`)
      continue
    }
    const busPort = await freePort()
    const [cmd, args, ready] = bus.start(busPort)
    const server = await spawnReady(cmd, args, ready)
    let cluster
    try {
      cluster = await nodes(o.nodes, { NEBULA_BUS: bus.url(busPort) })
      const r = await measure(`${o.nodes} nodes over ${bus.label}, ${o.perNode} receivers each`, cluster.ports)
      rows.push({ ...r, name })
      console.log(`${o.fmt(r.deliveries)} deliveries/s, p99 ${o.fmt(r.p99, 2)} ms`)
    } catch (err) {
      console.log(`skipped: ${err.message}`)
      notes.push(`${bus.label}: ${err.message}`)
    } finally {
      if (cluster) await Promise.all(cluster.children.map(stop))
      await stop(server)
    }
  }
  const base = rows[0]
  lines.push(`## ${title}`, '')
  lines.push(
    `hub_load (Rust, one thread): ${o.fmt(clients)} receivers in one room spread evenly over the nodes, 1 sender on the first node, ` +
      `window ${o.window} messages in flight (a message leaves the window once every receiver on every node got it), ${o.payload} B of content; ` +
      `${o.rounds} rounds × ${o.duration} s after 1 s warm-up, median; "1 in flight": window 1. Nothing pinned: ${o.nodes} node processes, the bus server and the generator share the machine's cores.`,
    '',
  )
  lines.push('| setup | deliveries/s | × 1 node | p50 ms | p99 ms | p99 ms, 1 in flight | errors / lost |')
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${o.fmt(r.deliveries)} | ${o.fmt(r.deliveries / base.deliveries, 2)}× | ${o.fmt(r.p50, 2)} | ${o.fmt(r.p99, 2)} | ${o.fmt(r.p99Single, 2)} | ${r.errors} / ${r.lost} |`,
    )
  }
  if (notes.length) lines.push('', ...notes)
  lines.push('')
  return rows
}
