#!/usr/bin/env node
// `npm run bench`: every contender on this machine, one after another, with
// the same load generator (wrk), several rounds each, median reported as a
// markdown table with ratios to Fastify (bench/results/latest.md).
// The `hub` scenario (WebSocket hubs: nebula's HubPlugin, a `ws` hub,
// socket.io) uses its own generator, bench/hub_load.rs, with ratios to `ws`.
//
// Options: --duration S (per round, default 5) --rounds N (default 3)
//          --connections C (default 64) --scenarios a,b --only x,y
//          hub: --clients N (default 1000) --window W (default 64) --payload B (default 100)
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createHmac } from 'node:crypto'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
)
const DURATION = Number(args.duration ?? 5)
const ROUNDS = Number(args.rounds ?? 3)
const CONNECTIONS = Number(args.connections ?? 64)
const SECRET = 'bench-secret-bench-secret-bench-secret'
// hub: receivers in the room, messages in flight, bytes of `content` per message.
const CLIENTS = Number(args.clients ?? 1000)
const WINDOW = Number(args.window ?? 64)
const PAYLOAD = Number(args.payload ?? 100)

const SCENARIOS = {
  hello: { title: '1. JSON hello route, TS handler', path: '/', auth: false },
  stack: { title: "2. Docs' stack: rate limit + JWT + log + transform", path: '/', auth: true },
  cached: { title: '3. Cached route (cache hit)', path: '/', auth: false },
  rejected: { title: '4. Rejected requests (no token → 401)', path: '/', auth: false, expect: 401 },
  hub: { title: `5. WebSocket hub: 1 room, ${CLIENTS.toLocaleString('en-US').replace(/,/g, ' ')} clients, 1 sender`, kind: 'hub' },
}
const CONTENDERS = {
  nebula: { label: 'nebula-native', cmd: ['node', 'servers/nebula.mjs'], scenarios: ['hello', 'stack', 'cached', 'rejected'] },
  fastify: { label: 'Fastify 5', cmd: ['node', 'servers/fastify.mjs'], scenarios: ['hello', 'stack', 'cached', 'rejected'] },
  koa: { label: 'Koa 3', cmd: ['node', 'servers/koa.mjs'], scenarios: ['hello', 'stack', 'rejected'] },
  express: { label: 'Express 5', cmd: ['node', 'servers/express.mjs'], scenarios: ['hello'] },
  hono: { label: 'Hono (@hono/node-server)', cmd: ['node', 'servers/hono.mjs'], scenarios: ['hello'] },
  'node-http': { label: 'node:http (bare)', cmd: ['node', 'servers/node-http.mjs'], scenarios: ['hello'] },
  ceiling: { label: 'pure Rust (nebula server, no JS)', cmd: [join(root, 'target/release/examples/ceiling')], scenarios: ['hello'] },
}
// The `hub` scenario's contenders (same names work with --only).
const HUB_CONTENDERS = {
  nebula: { label: 'nebula-native (HubPlugin)', cmd: ['node', 'servers/hub-nebula.mjs'], protocol: 'gohub' },
  ws: { label: 'ws 8 (hub in JS)', cmd: ['node', 'servers/hub-ws.mjs'], protocol: 'gohub' },
  'socket.io': { label: 'socket.io 4 (websocket only)', cmd: ['node', 'servers/hub-socketio.mjs'], protocol: 'socketio' },
}
const HUB_LOAD = join(root, 'target/release/examples/hub_load')

const scenarios = (args.scenarios ? args.scenarios.split(',') : Object.keys(SCENARIOS)).filter((s) => SCENARIOS[s])
const only = args.only ? new Set(args.only.split(',')) : undefined

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
}

function ensureTools() {
  const http = scenarios.some((s) => SCENARIOS[s].kind !== 'hub')
  if (http && !have('wrk')) {
    if (!(process.getuid && process.getuid() === 0)) throw new Error('wrk is not installed: apt-get install wrk (as root)')
    console.log('installing wrk (Debian package)…')
    execFileSync('sh', ['-c', 'apt-get install -y wrk || (apt-get update && apt-get install -y wrk)'], { stdio: 'inherit' })
  }
  const deps = Object.keys(JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).dependencies)
  if (deps.some((d) => !existsSync(join(here, 'node_modules', d, 'package.json')))) {
    console.log('installing the competitors (bench/package.json)…')
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' })
  }
  if (http) {
    console.log('building the pure-Rust ceiling (cargo example)…')
    execFileSync('cargo', ['build', '--release', '--example', 'ceiling', '--quiet'], { cwd: root, stdio: 'inherit' })
  }
  if (scenarios.includes('hub')) {
    console.log('building the hub load generator (cargo example hub_load)…')
    execFileSync('cargo', ['build', '--release', '--example', 'hub_load', '--quiet'], { cwd: root, stdio: 'inherit' })
  }
}

function token() {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'bench', exp: Math.floor(Date.now() / 1000) + 3600 })}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}

// `cpuList`: pin the server (taskset execs it, so the pid stays the server's).
function startServer(contender, scenario, cpuList) {
  return new Promise((resolve, reject) => {
    const [cmd, ...rest] = cpuList ? ['taskset', '-c', cpuList, ...contender.cmd] : contender.cmd
    const child = spawn(cmd, rest, {
      cwd: here,
      env: { ...process.env, PORT: '0', SCENARIO: scenario, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /ready (\d+)/.exec(out)
      if (m) resolve({ child, port: Number(m[1]) })
    })
    child.once('exit', (code) => reject(new Error(`${contender.label} exited with ${code} before it was ready`)))
  })
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', resolve)
    child.kill('SIGKILL')
  })
}

function toMs(v) {
  const m = /([\d.]+)(us|ms|s)/.exec(v)
  if (!m) return NaN
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]]
}

// wrk pinned to the second core where taskset exists; the server is not pinned
// (nebula uses Node's thread plus a tokio worker).
function wrk(port, scenario, seconds) {
  const s = SCENARIOS[scenario]
  const wrkArgs = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency']
  if (s.auth) wrkArgs.push('-H', `Authorization: Bearer ${token()}`)
  wrkArgs.push(`http://127.0.0.1:${port}${s.path}`)
  const pinned = have('taskset') && cpus().length > 1
  const out = pinned
    ? execFileSync('taskset', ['-c', String(cpus().length - 1), 'wrk', ...wrkArgs], { encoding: 'utf8' })
    : execFileSync('wrk', wrkArgs, { encoding: 'utf8' })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '')
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '')
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  return { rps, p50, p99, non2xx, total }
}

function rssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024
  } catch {
    return NaN
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

async function checkAnswer(port, scenario) {
  const s = SCENARIOS[scenario]
  const headers = s.auth ? { authorization: `Bearer ${token()}` } : {}
  const res = await fetch(`http://127.0.0.1:${port}${s.path}`, { headers })
  const expected = s.expect ?? 200
  if (res.status !== expected) throw new Error(`expected ${expected}, got ${res.status}: ${await res.text()}`)
  await res.arrayBuffer()
}

async function measure(name, scenario) {
  const contender = CONTENDERS[name]
  const { child, port } = await startServer(contender, scenario)
  try {
    await checkAnswer(port, scenario)
    wrk(port, scenario, 1) // warm-up
    const rounds = []
    for (let i = 0; i < ROUNDS; i++) rounds.push(wrk(port, scenario, DURATION))
    const expected = SCENARIOS[scenario].expect ?? 200
    const wrong = rounds.reduce((n, r) => n + (expected === 200 ? r.non2xx : r.total - r.non2xx), 0)
    return {
      name,
      label: contender.label,
      rps: median(rounds.map((r) => r.rps)),
      p50: median(rounds.map((r) => r.p50)),
      p99: median(rounds.map((r) => r.p99)),
      rss: rssMb(child.pid),
      wrong,
    }
  } finally {
    await stopServer(child)
  }
}

// ---- hub scenario ---------------------------------------------------------

// The generator gets the last core, the server the others: left to itself the
// scheduler tends to put nebula's tokio worker on the generator's core (they
// wake each other), which halves both and makes runs swing by 2×.
function hubCpus() {
  const n = cpus().length
  if (!have('taskset') || n < 2) return { server: undefined, generator: undefined }
  return { server: n === 2 ? '0' : `0-${n - 2}`, generator: String(n - 1) }
}

function generatorCmd(port, protocol, extra) {
  const { generator } = hubCpus()
  const genArgs = ['--port', String(port), '--protocol', protocol, '--clients', String(CLIENTS), '--payload', String(PAYLOAD), ...extra]
  return generator ? ['taskset', ['-c', generator, HUB_LOAD, ...genArgs]] : [HUB_LOAD, genArgs]
}

/** One load run of the generator: its JSON report. */
async function hubLoad(port, protocol, { window = WINDOW, duration = DURATION, warmup = 1 } = {}) {
  const [cmd, cmdArgs] = generatorCmd(port, protocol, ['--window', String(window), '--duration', String(duration), '--warmup', String(warmup)])
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const [code] = await once(child, 'exit')
  const line = out.trim().split('\n').pop()
  if (code !== 0 || !line?.startsWith('{')) throw new Error(`hub_load failed (${code}): ${err.trim() || out.trim()}`)
  await sleep(500) // the server closes the last run's sockets
  return JSON.parse(line)
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}

function vmRssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  } catch {
    return NaN
  }
}

/** Opens `n` idle joined connections; `hold()` runs while they are open. */
async function idleClients(port, protocol, n, hold) {
  const [cmd, cmdArgs] = generatorCmd(port, protocol, ['--mode', 'idle', '--clients', String(n)])
  const child = spawn(cmd, cmdArgs, { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const exited = once(child, 'exit')
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d
      if (/^connected \d+/m.test(out)) resolve()
    })
    exited.then(([code]) => reject(new Error(`hub_load idle exited with ${code}: ${err.trim()}`)))
  })
  const connected = Number(/^connected (\d+)/m.exec(out)[1])
  const held = await hold(connected)
  child.stdin.end()
  await exited
  const report = JSON.parse(out.trim().split('\n').pop())
  return { ...held, connected, errors: report.errors, firstError: report.first_error }
}

/** Memory per idle connection on a fresh server: ΔRSS / N over N idle joined clients. */
async function idleRound(contender) {
  const { child, port } = await startServer(contender, 'hub', hubCpus().server)
  try {
    // Warm-up: the first connections load code and grow pools once.
    await idleClients(port, contender.protocol, Math.min(100, CLIENTS), async () => sleep(200))
    await sleep(1000)
    const before = vmRssKiB(child.pid)
    const r = await idleClients(port, contender.protocol, CLIENTS, async () => {
      await sleep(1500)
      return { after: vmRssKiB(child.pid) }
    })
    return { perConnKiB: (r.after - before) / r.connected, before, after: r.after, connected: r.connected, errors: r.errors }
  } finally {
    await stopServer(child)
  }
}

async function measureHub(name) {
  const contender = HUB_CONTENDERS[name]
  const idle = []
  for (let i = 0; i < ROUNDS; i++) idle.push(await idleRound(contender))
  const { child, port } = await startServer(contender, 'hub', hubCpus().server)
  try {
    await hubLoad(port, contender.protocol, { duration: 1 }) // warm-up
    const rounds = []
    for (let i = 0; i < ROUNDS; i++) rounds.push(await hubLoad(port, contender.protocol))
    // Latency without queueing: one message in flight.
    const single = []
    for (let i = 0; i < ROUNDS; i++) single.push(await hubLoad(port, contender.protocol, { window: 1, duration: 2 }))
    const all = [...rounds, ...single]
    return {
      name,
      label: contender.label,
      deliveries: median(rounds.map((r) => r.deliveries_per_s)),
      sent: median(rounds.map((r) => r.sent_per_s)),
      p50: median(rounds.map((r) => r.p50_ms)),
      p99: median(rounds.map((r) => r.p99_ms)),
      p50Single: median(single.map((r) => r.p50_ms)),
      p99Single: median(single.map((r) => r.p99_ms)),
      idleKiB: median(idle.map((r) => r.perConnKiB)),
      rss: rssMb(child.pid),
      genCpu: median(rounds.map((r) => r.gen_cpu)),
      errors: all.reduce((n, r) => n + r.errors, 0) + idle.reduce((n, r) => n + r.errors, 0),
      lost: all.reduce((n, r) => n + r.lost, 0),
      firstError: all.find((r) => r.first_error)?.first_error ?? undefined,
      rounds,
      single,
      idle,
    }
  } finally {
    await stopServer(child)
  }
}

async function hubScenario(scenario, lines) {
  const names = Object.keys(HUB_CONTENDERS).filter((n) => !only || only.has(n))
  const rows = []
  for (const name of names) {
    process.stdout.write(`${scenario} · ${HUB_CONTENDERS[name].label} … `)
    try {
      const r = await measureHub(name)
      rows.push(r)
      console.log(
        `${fmt(r.deliveries)} deliveries/s, p99 ${fmt(r.p99, 2)} ms, ${fmt(r.idleKiB, 1)} KiB/idle conn` +
          (r.errors || r.lost ? `, ${r.errors} errors, ${r.lost} lost (${r.firstError ?? ''})` : ''),
      )
    } catch (err) {
      console.log(`skipped: ${err.message}`)
    }
  }
  const base = rows.find((r) => r.name === 'ws')
  const { server, generator } = hubCpus()
  const pinning = generator ? `generator on core ${generator}, server on core${server.includes('-') ? 's' : ''} ${server}` : 'not pinned'
  lines.push(`## ${SCENARIOS[scenario].title}`, '')
  lines.push(
    `hub_load (Rust, one thread): ${fmt(CLIENTS)} receivers + 1 sender in one room, window ${WINDOW} messages in flight, ` +
      `${PAYLOAD} B of content per message, ${pinning}; ${ROUNDS} rounds × ${DURATION} s after 1 s warm-up, median. ` +
      `"1 in flight": the same with a window of 1 (2 s). KiB per idle connection: ΔRSS of a fresh server over ${fmt(CLIENTS)} idle joined clients.`,
    '',
  )
  lines.push('| contender | deliveries/s | × ws | messages/s | p50 ms | p99 ms | p50 / p99 ms, 1 in flight | KiB per idle conn | RSS MiB | errors / lost |')
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of [...rows].sort((a, b) => b.deliveries - a.deliveries)) {
    const ratio = base ? `${fmt(r.deliveries / base.deliveries, 2)}×` : 'n/a'
    lines.push(
      `| ${r.label} | ${fmt(r.deliveries)} | ${ratio} | ${fmt(r.sent)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ` +
        `${fmt(r.p50Single, 2)} / ${fmt(r.p99Single, 2)} | ${fmt(r.idleKiB, 1)} | ${fmt(r.rss)} | ${r.errors} / ${r.lost} |`,
    )
  }
  lines.push('')
  return rows
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a'
}

async function main() {
  ensureTools()
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ')
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
  const lines = [
    `# nebula-native benchmark`,
    '',
    `${when} UTC · ${machine}` +
      (scenarios.some((s) => SCENARIOS[s].kind !== 'hub') ? ` · wrk -t1 -c${CONNECTIONS}, ${ROUNDS} rounds × ${DURATION} s, median` : ''),
    '',
  ]
  const results = {}
  for (const scenario of scenarios) {
    if (SCENARIOS[scenario].kind === 'hub') {
      results[scenario] = await hubScenario(scenario, lines)
      continue
    }
    const names = Object.keys(CONTENDERS).filter((n) => CONTENDERS[n].scenarios.includes(scenario) && (!only || only.has(n)))
    const rows = []
    for (const name of names) {
      process.stdout.write(`${scenario} · ${CONTENDERS[name].label} … `)
      try {
        const r = await measure(name, scenario)
        rows.push(r)
        console.log(`${fmt(r.rps)} req/s, p99 ${fmt(r.p99, 2)} ms`)
      } catch (err) {
        console.log(`skipped: ${err.message}`)
      }
    }
    results[scenario] = rows
    const base = rows.find((r) => r.name === 'fastify')
    lines.push(`## ${SCENARIOS[scenario].title}`, '')
    lines.push('| contender | req/s | × Fastify | p50 ms | p99 ms | RSS MiB | wrong answers |')
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for (const r of rows.sort((a, b) => b.rps - a.rps)) {
      const ratio = base ? `${fmt(r.rps / base.rps, 2)}×` : 'n/a'
      lines.push(`| ${r.label} | ${fmt(r.rps)} | ${ratio} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.rss)} | ${r.wrong} |`)
    }
    const ceiling = rows.find((r) => r.name === 'ceiling')
    const nebula = rows.find((r) => r.name === 'nebula')
    if (ceiling && nebula) lines.push('', `nebula-native reaches ${fmt((100 * nebula.rps) / ceiling.rps, 1)} % of the pure-Rust ceiling.`)
    lines.push('')
  }
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results/latest.md'), lines.join('\n'))
  writeFileSync(join(here, 'results/latest.json'), JSON.stringify({ when, machine, results }, null, 2))
  console.log(`\n${lines.join('\n')}\nwritten to bench/results/latest.md`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
