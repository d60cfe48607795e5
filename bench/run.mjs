#!/usr/bin/env node
// `npm run bench`: every contender on this machine, one after another, with
// the same load generator (wrk), several rounds each, median reported as a
// markdown table with ratios to Fastify (bench/results/latest.md).
// The `hub` scenario (WebSocket hubs: nebula's HubPlugin, a `ws` hub,
// socket.io) uses its own generator, bench/hub_load.rs, with ratios to `ws`.
// The `jsvm` scenario (the script VM) serves the hello body from a hook route
// (JsvmPlugin, poolSize 1 and 2) beside the TS route and Fastify, with wrk as
// for hello, then measures what a pool generation costs (ms and MiB per
// QuickJS runtime; servers/jsvm.mjs with GEN_COST).
// The `gateway` scenario (bench/gateway.mjs) serves the hello body from one
// node:http worker on a Unix socket through nebula's ServicesPlugin and through
// nginx (if installed), beside the worker hit directly over TCP, with wrk.
// The `validate` and `invalid` scenarios POST a JSON order checked against one
// JSON Schema (servers/common.mjs): nebula in Rust (`@Route({ validate })`),
// Fastify with its own `schema: { body }` (Ajv); `invalid` sends a body with
// three violations, answered 400 by both.
// uWebSockets.js (npm `uwebsockets`, servers/uws.mjs and servers/hub-uws.mjs)
// is the speed bar of issue 20: it runs in hello, stack, cached, rejected,
// jsvm, limited, validate / invalid (Ajv) and the hub; where its binary cannot load (platform, Node ABI,
// glibc) it is skipped with the reason. Every HTTP table reports server CPU per
// request: the server process's user + system time (all threads, /proc) over
// each wrk round ÷ the requests served, median (cpu.mjs); the gateway reports
// the proxy's and the worker's apart. `limited` (a 429 from a tiny rate limit)
// and `static` (a 17 B file) are, with cached and rejected, the answers nebula
// gives in Rust alone. `nebula-threads` and `nebula-loop` are nebula with
// NEBULA_HTTP_MODE=threads / loop (`nebula` is the engine's default mode).
// latest.md opens with "Goals (issue 20)", computed from this run's numbers
// (the hub's no-regression goal against the results file as it was before).
// A run of some scenarios keeps the other scenarios' last results in
// bench/results/latest.{md,json} (each section carries its own date).
//
// Options: --duration S (per round, default 5) --rounds N (default 3)
//          --connections C (default 64) --scenarios a,b --only x,y
//          hub: --clients N (default 1000) --window W (default 64) --payload B (default 100)
//          cluster: --per-node N (receivers per node, default 300), 3 nodes over Redis and NATS
//          jsvm: --gen-pools 1,2,4,8 (pool sizes for the generation cost) --gen-reloads K (default 20);
//          with --only, name `generation` to include the generation cost
//          gateway: contenders nebula, nginx, direct (for --only)
//          HTTP contenders: nebula, nebula-threads, nebula-loop, uws, fastify, koa, express, hono, node-http, ceiling, jsvm-1, jsvm-2;
//          hub: nebula, ws, socket.io, uws
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createHmac } from 'node:crypto'
import { cpus, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clusterScenario } from './cluster.mjs'
import { gatewayScenario } from './gateway.mjs'
import { runHubLoad } from './hub-load.mjs'
import { withCpu } from './cpu.mjs'
import { BAD_ORDER, HELLO, ORDER } from './servers/common.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1]]] : [])))
const DURATION = Number(args.duration ?? 5)
const ROUNDS = Number(args.rounds ?? 3)
const CONNECTIONS = Number(args.connections ?? 64)
const SECRET = 'bench-secret-bench-secret-bench-secret'
// hub: receivers in the room, messages in flight, bytes of `content` per message.
const CLIENTS = Number(args.clients ?? 1000)
const WINDOW = Number(args.window ?? 64)
const PAYLOAD = Number(args.payload ?? 100)
// jsvm: pool sizes whose generation is built and timed, reloads timed per process.
const GEN_POOLS = String(args['gen-pools'] ?? '1,2,4,8')
  .split(',')
  .map(Number)
const GEN_RELOADS = Number(args['gen-reloads'] ?? 20)

const SCENARIOS = {
  hello: { title: '1. JSON hello route, TS handler', path: '/', auth: false },
  stack: { title: "2. Docs' stack: rate limit + JWT + log + transform", path: '/', auth: true },
  cached: { title: '3. Cached route (cache hit)', path: '/', auth: false },
  rejected: { title: '4. Rejected requests (no token → 401)', path: '/', auth: false, expect: 401 },
  // Rust-only answers (issue 20, goal 2) beside cached and rejected: a 429 from a tiny rate limit
  // (1 request per minute per address; `prime` sends the one allowed request before the check), a small static file.
  limited: {
    title: '11. Rate-limited requests (limit 1 per minute → 429)',
    path: '/',
    auth: false,
    expect: 429,
    prime: 1,
    contenders: ['nebula', 'nebula-threads', 'nebula-loop', 'uws'],
  },
  static: {
    title: '12. Small static file (17 B JSON file)',
    path: '/static/hello.json',
    auth: false,
    body: HELLO,
    contenders: ['nebula', 'nebula-threads', 'nebula-loop'],
  },
  hub: { title: `5. WebSocket hub: 1 room, ${CLIENTS.toLocaleString('en-US').replace(/,/g, ' ')} clients, 1 sender`, kind: 'hub' },
  cluster: { title: `7. Hub cluster: room fan-out across 3 nodes over Redis and NATS`, kind: 'cluster' },
  // The hello body ({"hello":"world"}, checked) from a hook route, a TS route and Fastify.
  jsvm: {
    title: '6. Script VM: hook route',
    path: '/',
    auth: false,
    body: { hello: 'world' },
    contenders: ['jsvm-1', 'jsvm-2', 'nebula', 'fastify', 'uws'],
  },
  // wrk on GET /hello: nebula's gateway and nginx, each proxying to a worker on a Unix socket, and the worker alone.
  gateway: { title: '8. Gateway: hello from a worker over a Unix socket', kind: 'gateway', path: '/hello', auth: false },
  // POST a JSON body checked against the same JSON Schema (servers/common.mjs ORDER_SCHEMA): nebula in Rust, Fastify with its Ajv.
  validate: {
    title: '9. Validated JSON body (POST, same JSON Schema)',
    path: '/orders',
    auth: false,
    post: ORDER,
    contenders: ['nebula', 'nebula-threads', 'nebula-loop', 'fastify', 'uws'],
  },
  invalid: {
    title: '10. Invalid JSON body (POST, same JSON Schema → 400)',
    path: '/orders',
    auth: false,
    post: BAD_ORDER,
    expect: 400,
    contenders: ['nebula', 'fastify', 'uws'],
  },
}
// Where cargo puts the examples (the ceiling, hub_load): CARGO_TARGET_DIR when set, as cargo does.
const TARGET = process.env.CARGO_TARGET_DIR ?? join(root, 'target')
// nebula's HTTP modes (issue 20): `nebula` runs the engine's default, the two others force one by NEBULA_HTTP_MODE.
const NEBULA_MODES = ['hello', 'stack', 'cached', 'rejected', 'validate', 'limited', 'static']
const CONTENDERS = {
  nebula: {
    label: 'nebula-native',
    labels: { jsvm: 'TS route (nebula)' },
    cmd: ['node', 'servers/nebula.mjs'],
    scenarios: ['hello', 'stack', 'cached', 'rejected', 'jsvm', 'validate', 'invalid', 'limited', 'static'],
  },
  'nebula-threads': {
    label: 'nebula-native, NEBULA_HTTP_MODE=threads',
    cmd: ['node', 'servers/nebula.mjs'],
    env: { NEBULA_HTTP_MODE: 'threads' },
    scenarios: NEBULA_MODES,
  },
  'nebula-loop': {
    label: 'nebula-native, NEBULA_HTTP_MODE=loop',
    cmd: ['node', 'servers/nebula.mjs'],
    env: { NEBULA_HTTP_MODE: 'loop' },
    scenarios: NEBULA_MODES,
  },
  // The speed bar (issue 20): handlers in JS on uWS.js's own event loop (servers/uws.mjs).
  uws: {
    label: 'uWebSockets.js (uWS.js v20, JS handler)',
    labels: { jsvm: 'uWebSockets.js (JS handler)' },
    cmd: ['node', 'servers/uws.mjs'],
    scenarios: ['hello', 'stack', 'cached', 'rejected', 'jsvm', 'limited', 'validate', 'invalid'],
  },
  fastify: {
    label: 'Fastify 5',
    cmd: ['node', 'servers/fastify.mjs'],
    scenarios: ['hello', 'stack', 'cached', 'rejected', 'jsvm', 'validate', 'invalid'],
  },
  koa: { label: 'Koa 3', cmd: ['node', 'servers/koa.mjs'], scenarios: ['hello', 'stack', 'rejected'] },
  express: { label: 'Express 5', cmd: ['node', 'servers/express.mjs'], scenarios: ['hello'] },
  hono: { label: 'Hono (@hono/node-server)', cmd: ['node', 'servers/hono.mjs'], scenarios: ['hello'] },
  'node-http': { label: 'node:http (bare)', cmd: ['node', 'servers/node-http.mjs'], scenarios: ['hello'] },
  ceiling: { label: 'pure Rust (nebula server, no JS)', cmd: [join(TARGET, 'release/examples/ceiling')], scenarios: ['hello'] },
  // The hello route as a hook route (bench/hooks/hello.pb.js) in the script VM.
  'jsvm-1': {
    label: 'hook route (JsvmPlugin, poolSize 1)',
    cmd: ['node', 'servers/jsvm.mjs'],
    env: { POOL_SIZE: '1' },
    scenarios: ['jsvm'],
  },
  'jsvm-2': { label: 'hook route (poolSize 2)', cmd: ['node', 'servers/jsvm.mjs'], env: { POOL_SIZE: '2' }, scenarios: ['jsvm'] },
}
const labelOf = (name, scenario) => CONTENDERS[name].labels?.[scenario] ?? CONTENDERS[name].label
// The `hub` scenario's contenders (same names work with --only).
const HUB_CONTENDERS = {
  nebula: { label: 'nebula-native (HubPlugin)', cmd: ['node', 'servers/hub-nebula.mjs'], protocol: 'gohub' },
  ws: { label: 'ws 8 (hub in JS)', cmd: ['node', 'servers/hub-ws.mjs'], protocol: 'gohub' },
  'socket.io': { label: 'socket.io 4 (websocket only)', cmd: ['node', 'servers/hub-socketio.mjs'], protocol: 'socketio' },
  uws: { label: 'uWebSockets.js (pub/sub hub in JS)', cmd: ['node', 'servers/hub-uws.mjs'], protocol: 'gohub' },
}
const HUB_LOAD = join(TARGET, 'release/examples/hub_load')
const PER_NODE = Number(args['per-node'] ?? 300)

const scenarios = (args.scenarios ? args.scenarios.split(',') : Object.keys(SCENARIOS)).filter((s) => SCENARIOS[s])
const only = args.only ? new Set(args.only.split(',')) : undefined

/** Whether contender `name` runs in HTTP scenario `s` (its list, the scenario's list, --only). */
function willRun(name, s) {
  return CONTENDERS[name].scenarios.includes(s) && (SCENARIOS[s].contenders ?? Object.keys(CONTENDERS)).includes(name) && (!only || only.has(name))
}

/**
 * Why uWS.js cannot run here (undefined when it can): the package loads its
 * binary for this platform and Node ABI at require time, nothing at install.
 */
function uwsProblem() {
  const r = spawnSync('node', ['-e', "require('uwebsockets').App()"], { cwd: here, encoding: 'utf8' })
  if (r.status === 0) return undefined
  const lines = `${r.stderr ?? ''}${r.error?.message ?? ''}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  const errors = lines.filter((l) => /^Error:/.test(l))
  return (errors.length ? errors.slice(-2).join(' / ') : (lines.at(-1) ?? `exit ${r.status}`)).slice(0, 400)
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
}

function ensureTools() {
  const http = scenarios.some((s) => !SCENARIOS[s].kind || SCENARIOS[s].kind === 'gateway')
  if (http && !have('wrk')) {
    if (!(process.getuid && process.getuid() === 0)) throw new Error('wrk is not installed: apt-get install wrk (as root)')
    console.log('installing wrk (Debian package)…')
    execFileSync('sh', ['-c', 'apt-get install -y wrk || (apt-get update && apt-get install -y wrk)'], { stdio: 'inherit' })
  }
  // nginx for the gateway scenario (skipped with a note when it cannot be had).
  if (scenarios.includes('gateway') && (!only || only.has('nginx')) && !have('nginx') && process.getuid?.() === 0) {
    console.log('installing nginx (Debian package)…')
    const r = spawnSync('sh', ['-c', 'apt-get install -y nginx || (apt-get update && apt-get install -y nginx)'], { stdio: 'inherit' })
    if (r.status !== 0) console.log('nginx could not be installed: the gateway scenario runs without it')
  }
  const deps = Object.keys(JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).dependencies)
  const competitors = scenarios.some((s) => SCENARIOS[s].kind !== 'gateway')
  if (competitors && deps.some((d) => !existsSync(join(here, 'node_modules', d, 'package.json')))) {
    console.log('installing the competitors (bench/package.json)…')
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' })
  }
  if (scenarios.some((s) => !SCENARIOS[s].kind && willRun('ceiling', s))) {
    console.log('building the pure-Rust ceiling (cargo example)…')
    execFileSync('cargo', ['build', '--release', '--example', 'ceiling', '--quiet'], { cwd: root, stdio: 'inherit' })
  }
  if (scenarios.includes('hub') || scenarios.includes('cluster')) {
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
function startServer(contender, scenario, cpuList, env = {}) {
  return new Promise((resolve, reject) => {
    const [cmd, ...rest] = cpuList ? ['taskset', '-c', cpuList, ...contender.cmd] : contender.cmd
    const child = spawn(cmd, rest, {
      cwd: here,
      env: { ...process.env, PORT: '0', SCENARIO: scenario, NODE_ENV: 'production', ...contender.env, ...env },
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
  if (s.post) wrkArgs.push('-s', postScript(s.post))
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
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = socket ? socket.slice(1).reduce((n, x) => n + Number(x), 0) : 0
  return { rps, p50, p99, non2xx, total, errors }
}

/** A wrk script that POSTs `body` as JSON (written once per body, in the temp folder). */
function postScript(body) {
  const file = join(tmpdir(), `nebula-bench-post-${createHmac('sha256', 'x').update(JSON.stringify(body)).digest('hex').slice(0, 12)}.lua`)
  if (!existsSync(file)) {
    const lua = (s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
    writeFileSync(file, `wrk.method = "POST"\nwrk.body = ${lua(JSON.stringify(body))}\nwrk.headers["Content-Type"] = "application/json"\n`)
  }
  return file
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
  if (s.post) headers['content-type'] = 'application/json'
  const init = s.post ? { method: 'POST', headers, body: JSON.stringify(s.post) } : { headers }
  const res = await fetch(`http://127.0.0.1:${port}${s.path}`, init)
  const expected = s.expect ?? 200
  if (res.status !== expected) throw new Error(`expected ${expected}, got ${res.status}: ${await res.text()}`)
  const text = await res.text()
  if (s.body && text !== JSON.stringify(s.body)) throw new Error(`expected the body ${JSON.stringify(s.body)}, got ${text}`)
}

async function measure(name, scenario) {
  const contender = CONTENDERS[name]
  const { child, port } = await startServer(contender, scenario)
  try {
    for (let i = 0; i < (SCENARIOS[scenario].prime ?? 0); i++) await (await fetch(`http://127.0.0.1:${port}${SCENARIOS[scenario].path}`)).text()
    await checkAnswer(port, scenario)
    wrk(port, scenario, 1) // warm-up
    const rounds = []
    // Server CPU: the process's user + system time (all threads) over each round ÷ the requests it served.
    for (let i = 0; i < ROUNDS; i++) rounds.push(withCpu({ server: () => [child.pid] }, () => wrk(port, scenario, DURATION)))
    const expected = SCENARIOS[scenario].expect ?? 200
    const wrong = rounds.reduce((n, r) => n + (expected === 200 ? r.non2xx : r.total - r.non2xx), 0)
    return {
      name,
      label: labelOf(name, scenario),
      rps: median(rounds.map((r) => r.rps)),
      p50: median(rounds.map((r) => r.p50)),
      p99: median(rounds.map((r) => r.p99)),
      rss: rssMb(child.pid),
      cpuUs: median(rounds.map((r) => r.cpu.server.us)),
      userUs: median(rounds.map((r) => r.cpu.server.userUs)),
      sysUs: median(rounds.map((r) => r.cpu.server.sysUs)),
      wrong,
      rounds: rounds.map((r) => r.rps),
      cpuRounds: rounds.map((r) => r.cpu.server.us),
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
  return runHubLoad(cmd, cmdArgs)
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
    if (name === 'uws' && uwsSkip) {
      console.log(`skipped: ${uwsSkip}`)
      continue
    }
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
  const uws = rows.find((r) => r.name === 'uws')
  const { server, generator } = hubCpus()
  const pinning = generator ? `generator on core ${generator}, server on core${server.includes('-') ? 's' : ''} ${server}` : 'not pinned'
  lines.push(`## ${SCENARIOS[scenario].title}`, '')
  lines.push(
    `hub_load (Rust, one thread): ${fmt(CLIENTS)} receivers + 1 sender in one room, window ${WINDOW} messages in flight, ` +
      `${PAYLOAD} B of content per message, ${pinning}; ${ROUNDS} rounds × ${DURATION} s after 1 s warm-up, median. ` +
      `"1 in flight": the same with a window of 1 (2 s). KiB per idle connection: ΔRSS of a fresh server over ${fmt(CLIENTS)} idle joined clients.`,
    '',
  )
  lines.push(
    `| contender | deliveries/s | × ws |${uws ? ' × uWS |' : ''} messages/s | p50 ms | p99 ms | p50 / p99 ms, 1 in flight | KiB per idle conn | RSS MiB | errors / lost |`,
  )
  lines.push(`| --- | ---: | ---: |${uws ? ' ---: |' : ''} ---: | ---: | ---: | ---: | ---: | ---: | ---: |`)
  for (const r of [...rows].sort((a, b) => b.deliveries - a.deliveries)) {
    const ratio = base ? `${fmt(r.deliveries / base.deliveries, 2)}×` : 'n/a'
    lines.push(
      `| ${r.label} | ${fmt(r.deliveries)} | ${ratio} |${uws ? ` ${fmt(r.deliveries / uws.deliveries, 2)}× |` : ''} ${fmt(r.sent)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ` +
        `${fmt(r.p50Single, 2)} / ${fmt(r.p99Single, 2)} | ${fmt(r.idleKiB, 1)} | ${fmt(r.rss)} | ${r.errors} / ${r.lost} |`,
    )
  }
  lines.push('')
  return rows
}

// ---- HTTP tables: req/s and server CPU per request ------------------------

const CPU_NOTE =
  "CPU µs/req: the server process's user + system CPU time (all its threads, /proc/<pid>/stat) over each wrk round ÷ the " +
  'requests served in that round, median over the rounds (user / system split in latest.json). Lower is better; ' +
  '"× uWS" columns divide by uWebSockets.js in the same scenario.'

/** The markdown table of an HTTP scenario: ratios to Fastify and, where it ran, to uWS.js. */
function httpTable(rows) {
  const fastify = rows.find((r) => r.name === 'fastify')
  const uws = rows.find((r) => r.name === 'uws')
  const head = ['contender', 'req/s']
  if (fastify) head.push('× Fastify')
  if (uws) head.push('× uWS req/s')
  head.push('CPU µs/req')
  if (uws) head.push('× uWS CPU')
  head.push('p50 ms', 'p99 ms', 'RSS MiB', 'wrong answers')
  const out = [`| ${head.join(' | ')} |`, `| --- |${' ---: |'.repeat(head.length - 1)}`]
  for (const r of [...rows].sort((a, b) => b.rps - a.rps)) {
    const cells = [r.label, fmt(r.rps)]
    if (fastify) cells.push(`${fmt(r.rps / fastify.rps, 2)}×`)
    if (uws) cells.push(`${fmt(r.rps / uws.rps, 2)}×`)
    cells.push(fmt(r.cpuUs, 2))
    if (uws) cells.push(`${fmt(r.cpuUs / uws.cpuUs, 2)}×`)
    cells.push(fmt(r.p50, 2), fmt(r.p99, 2), fmt(r.rss), String(r.wrong))
    out.push(`| ${cells.join(' | ')} |`)
  }
  return out
}

// ---- Goals (issue 20): computed from this run's numbers only ---------------

/** The results file as it was before this run (for the hub's no-regression goal). */
function previousResults() {
  try {
    return JSON.parse(readFileSync(join(here, 'results/latest.json'), 'utf8'))
  } catch {
    return undefined
  }
}

const verdict = (ok) => (ok === undefined ? 'n/a' : ok ? '**met**' : '**missed**')
const x = (v) => (Number.isFinite(v) ? `${fmt(v, 2)}×` : 'n/a')

/** The "Goals (issue 20)" section: one row per goal; `results` holds only what this run measured. */
function goalsSection(results, previousJson, when, machine) {
  const row = (scenario, name) => (Array.isArray(results[scenario]) ? results[scenario].find((r) => r.name === name) : undefined)
  const notRun = (scenario) => !Array.isArray(results[scenario])
  const lines = ['## Goals (issue 20)', '']
  lines.push(
    `Ratios from the numbers of this run (${when} UTC) only; "not run" when the scenario (or a contender it needs) was not part of it. ` +
      "CPU = the server process's user + system time per request (see each table).",
    '',
    '| goal | target | measured | status |',
    '| --- | --- | --- | --- |',
  )
  // G1: the TS JSON route (hello) against uWS.js.
  {
    const uws = row('hello', 'uws')
    const nebula = row('hello', 'nebula')
    let measured = 'not run'
    let status = 'not run'
    if (nebula && uws) {
      const rps = nebula.rps / uws.rps
      const cpu = nebula.cpuUs / uws.cpuUs
      const modes = ['nebula-threads', 'nebula-loop']
        .map((n) => row('hello', n))
        .filter(Boolean)
        .map((r) => `; ${r.name.slice(7)}: ${x(r.rps / uws.rps)} req/s, ${x(r.cpuUs / uws.cpuUs)} CPU`)
        .join('')
      measured = `${x(rps)} req/s (${fmt(nebula.rps)} vs ${fmt(uws.rps)}), ${x(cpu)} CPU/req (${fmt(nebula.cpuUs, 2)} vs ${fmt(uws.cpuUs, 2)} µs)${modes}`
      status = verdict(rps >= 1 && cpu <= 1)
    } else if (!notRun('hello')) measured = status = nebula ? 'not run (uWS.js did not run)' : 'not run (nebula did not run)'
    lines.push(`| G1 TS JSON route (scenario 1) vs uWS.js | req/s ≥ 1.0×, CPU/req ≤ 1.0× | ${measured} | ${status} |`)
  }
  // G2: each Rust-only answer's CPU per request against uWS.js's hello.
  {
    const uws = row('hello', 'uws')
    const answers = [
      ['cached', 'cache hit'],
      ['rejected', '401 JwtAuth'],
      ['limited', '429 rate limit'],
      ['static', 'static file'],
    ]
    const parts = []
    const oks = []
    for (const [scenario, what] of answers) {
      const nebula = row(scenario, 'nebula')
      if (!nebula || !uws) {
        parts.push(`${what}: not run`)
        continue
      }
      const r = nebula.cpuUs / uws.cpuUs
      oks.push(r <= 0.8)
      const modes = ['nebula-threads', 'nebula-loop']
        .map((n) => row(scenario, n))
        .filter(Boolean)
        .map((m) => `, ${m.name.slice(7)} ${x(m.cpuUs / uws.cpuUs)}`)
        .join('')
      parts.push(`${what}: ${x(r)} (${fmt(nebula.cpuUs, 2)} µs${modes}) ${r <= 0.8 ? 'met' : 'missed'}`)
    }
    const status =
      oks.length === 0
        ? 'not run'
        : oks.length < answers.length
          ? `${verdict(oks.every(Boolean))} (${oks.length} of ${answers.length} run)`
          : verdict(oks.every(Boolean))
    lines.push(`| G2 Rust-only answers: CPU/req vs uWS.js hello${uws ? ` (${fmt(uws.cpuUs, 2)} µs)` : ''} | ≤ 0.8× each | ${parts.join('; ')} | ${status} |`)
  }
  // G3: the gateway against nginx.
  {
    const nebula = row('gateway', 'nebula')
    const nginx = row('gateway', 'nginx')
    const measured =
      nebula && nginx
        ? `${x(nebula.rps / nginx.rps)} req/s (${fmt(nebula.rps)} vs ${fmt(nginx.rps)}); proxy CPU/req ${x(nebula.proxyCpuUs / nginx.proxyCpuUs)}`
        : 'not run'
    lines.push(`| G3 gateway (scenario 8) vs nginx | req/s ≥ 1.0× | ${measured} | ${nebula && nginx ? verdict(nebula.rps >= nginx.rps) : 'not run'} |`)
  }
  // G4: the hook route (poolSize 1) against the TS route, both in the jsvm scenario.
  {
    const hook = row('jsvm', 'jsvm-1')
    const ts = row('jsvm', 'nebula')
    const measured = hook && ts ? `${x(hook.rps / ts.rps)} req/s (${fmt(hook.rps)} vs ${fmt(ts.rps)}), ${x(hook.cpuUs / ts.cpuUs)} CPU/req` : 'not run'
    lines.push(`| G4 hook route (jsvm-1) vs TS route (scenario 6) | req/s ≥ 1.0× | ${measured} | ${hook && ts ? verdict(hook.rps >= ts.rps) : 'not run'} |`)
  }
  // G5: nebula's hub against the previous results file.
  {
    const now = row('hub', 'nebula')
    const before = previousJson?.results?.hub?.find?.((r) => r.name === 'nebula')
    let measured = 'not run'
    let status = 'not run'
    if (now && !before) measured = status = 'no previous hub results to compare'
    else if (now && before) {
      const d = now.deliveries / before.deliveries
      const p99 = now.p99 / before.p99
      const p99s = now.p99Single / before.p99Single
      const kib = now.idleKiB / before.idleKiB
      measured =
        `deliveries/s ${x(d)} (${fmt(now.deliveries)} vs ${fmt(before.deliveries)}), p99 ${x(p99)}, p99 1 in flight ${x(p99s)}, ` +
        `KiB/idle conn ${x(kib)} vs ${previousJson.runs?.hub?.when ?? previousJson.when ?? 'the previous run'}`
      const then = previousJson.runs?.hub?.machine ?? previousJson.machine
      status = then && then !== machine ? `not comparable: the previous run was on ${then}` : verdict(d >= 0.95 && p99 <= 1.1 && p99s <= 1.1 && kib <= 1.1)
    }
    lines.push(
      `| G5 hub (scenario 5): no regression vs the previous results file | deliveries ≥ 0.95×, p99s and KiB/conn ≤ 1.10× (run-to-run noise) | ${measured} | ${status} |`,
    )
  }
  lines.push('')
  return lines
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a'
}

// ---- jsvm: what a pool generation costs ----------------------------------

/** Least-squares slope of ys over xs. */
function slope(xs, ys) {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length
  const my = ys.reduce((a, b) => a + b, 0) / ys.length
  const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0)
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0)
  return den ? num / den : NaN
}

/** One fresh jsvm server in GEN_COST mode: its `gencost` JSON line. */
async function genCostRound(poolSize) {
  const child = spawn('node', ['servers/jsvm.mjs'], {
    cwd: here,
    env: { ...process.env, PORT: '0', NODE_ENV: 'production', POOL_SIZE: String(poolSize), GEN_COST: String(GEN_RELOADS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const [code] = await once(child, 'exit')
  const line = /^gencost (.*)$/m.exec(out)?.[1]
  if (code !== 0 || !line) throw new Error(`servers/jsvm.mjs GEN_COST exited with ${code}: ${out.trim()}`)
  return JSON.parse(line)
}

/**
 * For each pool size, ROUNDS fresh processes: the engine's start (first
 * generation), VmRSS growth over the start, and GEN_RELOADS timed
 * `engine.jsvm.reload()`s (a new generation each). Per runtime: the slopes
 * over the pool sizes of reload CPU time and of RSS growth.
 */
async function genCost(section) {
  const sizes = []
  for (const n of GEN_POOLS) {
    process.stdout.write(`jsvm · generation cost, poolSize ${n} … `)
    const rounds = []
    for (let i = 0; i < ROUNDS; i++) rounds.push(await genCostRound(n))
    const reloads = rounds.flatMap((r) => r.reloads)
    const size = {
      poolSize: n,
      startMs: median(rounds.map((r) => r.start.ms)),
      reloadMs: median(reloads.map((r) => r.ms)),
      reloadCpuMs: median(reloads.map((r) => r.cpuMs)),
      startRssMiB: median(rounds.map((r) => r.rssStarted - r.rssBefore)),
      reloadsRssMiB: median(rounds.map((r) => r.rssAfter - r.rssStarted)),
      workers: Math.min(...rounds.map((r) => r.workers)),
      rounds,
    }
    sizes.push(size)
    console.log(`reload ${fmt(size.reloadMs, 2)} ms (CPU ${fmt(size.reloadCpuMs, 2)} ms), +${fmt(size.startRssMiB, 1)} MiB at start`)
  }
  const xs = sizes.map((s) => s.poolSize)
  const perRuntime = {
    cpuMs: slope(
      xs,
      sizes.map((s) => s.reloadCpuMs),
    ),
    wallMs: slope(
      xs,
      sizes.map((s) => s.reloadMs),
    ),
    rssMiB: slope(
      xs,
      sizes.map((s) => s.startRssMiB),
    ),
  }
  section.push(
    '### Generation cost',
    '',
    `A fresh process per pool size (${ROUNDS} each, not under load): the engine's start (builds the first generation and listens), ` +
      `VmRSS growth over that start, then ${GEN_RELOADS} × \`engine.jsvm.reload()\` (each builds a new generation of poolSize runtimes from ` +
      `the files, swaps it in and retires the old one), wall and process CPU time, median. Per runtime: the least-squares slope over ` +
      `poolSize ${xs.join(', ')}.`,
    '',
    '| poolSize | start ms | reload ms (wall) | reload ms (CPU) | wall ms ÷ runtimes | ΔRSS at start MiB | ΔRSS after reloads MiB |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  )
  for (const s of sizes)
    section.push(
      `| ${s.poolSize} | ${fmt(s.startMs, 1)} | ${fmt(s.reloadMs, 2)} | ${fmt(s.reloadCpuMs, 2)} | ${fmt(s.reloadMs / s.poolSize, 2)} | ` +
        `${fmt(s.startRssMiB, 1)} | ${fmt(s.reloadsRssMiB, 1)} |`,
    )
  section.push(
    '',
    `Per runtime: ${fmt(perRuntime.cpuMs, 2)} ms CPU, ${fmt(perRuntime.wallMs, 2)} ms wall (runtimes build in parallel), ` +
      `${fmt(perRuntime.rssMiB, 2)} MiB RSS.`,
    '',
  )
  return { perRuntime, reloadsPerProcess: GEN_RELOADS, sizes }
}

// ---- results: latest.md / latest.json --------------------------------------

const SECTION_NUMBER = (line) => /^## (\d+)\./.exec(line)?.[1]
const RUN_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d UTC · /

/** The previous results' sections by scenario (for the scenarios not run now). */
function previousSections() {
  const sections = {}
  let json
  let md
  try {
    json = JSON.parse(readFileSync(join(here, 'results/latest.json'), 'utf8'))
    md = readFileSync(join(here, 'results/latest.md'), 'utf8')
  } catch {
    return sections
  }
  const byNumber = Object.fromEntries(Object.entries(SCENARIOS).map(([k, v]) => [/^(\d+)\./.exec(v.title)[1], k]))
  // The file's top date line (older files had only that one).
  const top = md.split('\n').find((l) => RUN_LINE.test(l))
  let current
  for (const line of md.split('\n')) {
    const n = SECTION_NUMBER(line)
    if (n) {
      current = byNumber[n]
      if (current) sections[current] = { lines: [line] }
      continue
    }
    if (current) sections[current].lines.push(line)
  }
  for (const [scenario, sec] of Object.entries(sections)) {
    while (sec.lines.at(-1) === '') sec.lines.pop()
    sec.lines.push('')
    const own = sec.lines.slice(1).find((l) => l.trim() !== '')
    if (!(own && RUN_LINE.test(own)) && top) sec.lines.splice(1, 0, '', top)
    sec.run = json.runs?.[scenario] ?? { when: json.when, machine: json.machine }
    sec.results = Object.fromEntries(Object.entries(json.results ?? {}).filter(([k]) => k === scenario || k.startsWith(`${scenario}-`)))
  }
  return sections
}

/** uWS.js's reason not to run on this machine (set in main; undefined when it loads). */
let uwsSkip

async function main() {
  ensureTools()
  const wantsUws = scenarios.some((s) => (SCENARIOS[s].kind === 'hub' ? !only || only.has('uws') : !SCENARIOS[s].kind && willRun('uws', s)))
  if (wantsUws) {
    uwsSkip = uwsProblem()
    if (uwsSkip) console.log(`uWebSockets.js skipped on this machine: ${uwsSkip}`)
  }
  const previousJson = previousResults()
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ')
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
  const wrkSettings = `wrk -t1 -c${CONNECTIONS}, ${ROUNDS} rounds × ${DURATION} s, median`
  const previous = previousSections()
  const sections = {}
  const results = {}
  const runs = {}
  for (const scenario of scenarios) {
    const section = []
    const s = SCENARIOS[scenario]
    runs[scenario] = {
      when,
      machine,
      settings: s.kind === 'hub' ? `hub_load, window ${WINDOW}, ${PAYLOAD} B, ${ROUNDS} rounds × ${DURATION} s, median` : wrkSettings,
    }
    if (s.kind === 'hub') {
      results[scenario] = await hubScenario(scenario, section)
      section.splice(1, 0, '', `${when} UTC · ${machine}`)
      sections[scenario] = section
      continue
    }
    if (s.kind === 'cluster') {
      runs[scenario].settings = `hub_load, window ${WINDOW}, ${PAYLOAD} B, ${ROUNDS} rounds × ${DURATION} s, median`
      results[scenario] = await clusterScenario(s.title, section, {
        here,
        hubLoad: HUB_LOAD,
        perNode: PER_NODE,
        nodes: 3,
        rounds: ROUNDS,
        duration: DURATION,
        window: WINDOW,
        payload: PAYLOAD,
        fmt,
        median,
      })
      section.splice(1, 0, '', `${when} UTC · ${machine}`)
      sections[scenario] = section
      continue
    }
    if (s.kind === 'gateway') {
      results[scenario] = await gatewayScenario(s.title, section, {
        here,
        rounds: ROUNDS,
        duration: DURATION,
        only,
        wrk: (port, seconds) => wrk(port, scenario, seconds),
        fmt,
        median,
      })
      section.splice(1, 0, '', `${when} UTC · ${machine} · ${wrkSettings}`)
      sections[scenario] = section
      continue
    }
    const names = (s.contenders ?? Object.keys(CONTENDERS)).filter((n) => willRun(n, scenario))
    const rows = []
    const notes = []
    for (const name of names) {
      process.stdout.write(`${scenario} · ${labelOf(name, scenario)} … `)
      if (name === 'uws' && uwsSkip) {
        console.log(`skipped: ${uwsSkip}`)
        notes.push(`uWebSockets.js: skipped, it cannot load on this machine (${uwsSkip}).`)
        continue
      }
      try {
        const r = await measure(name, scenario)
        rows.push(r)
        console.log(`${fmt(r.rps)} req/s, ${fmt(r.cpuUs, 2)} µs CPU/req, p99 ${fmt(r.p99, 2)} ms${r.wrong ? `, ${r.wrong} wrong answers` : ''}`)
      } catch (err) {
        console.log(`skipped: ${err.message}`)
        notes.push(`${labelOf(name, scenario)}: skipped, ${err.message}.`)
      }
    }
    results[scenario] = rows
    section.push(`## ${s.title}`, '', `${when} UTC · ${machine} · ${wrkSettings}`, '')
    section.push(...httpTable(rows), '', CPU_NOTE)
    if (notes.length) section.push('', ...notes)
    const ceiling = rows.find((r) => r.name === 'ceiling')
    const nebula = rows.find((r) => r.name === 'nebula')
    if (ceiling && nebula) section.push('', `nebula-native reaches ${fmt((100 * nebula.rps) / ceiling.rps, 1)} % of the pure-Rust ceiling.`)
    if (scenario === 'jsvm') {
      const hooks = rows.filter((r) => r.name.startsWith('jsvm-'))
      if (nebula && hooks.length)
        section.push(
          '',
          `Hook route ÷ TS route: ${hooks.map((r) => `${fmt((100 * r.rps) / nebula.rps, 1)} % (poolSize ${CONTENDERS[r.name].env.POOL_SIZE})`).join(', ')}.`,
        )
      section.push('', `req/s per round: ${rows.map((r) => `${r.label} ${r.rounds.map((x) => fmt(x)).join(' / ')}`).join('; ')}.`, '')
      if (!only || only.has('generation')) {
        try {
          results['jsvm-generation'] = await genCost(section)
        } catch (err) {
          console.log(`skipped: ${err.message}`)
        }
      }
    }
    section.push('')
    sections[scenario] = section
  }
  const goals = goalsSection(results, previousJson, when, machine)
  // The scenarios not run now keep their last results.
  const kept = Object.keys(SCENARIOS).filter((k) => !sections[k] && previous[k])
  for (const k of kept) {
    sections[k] = previous[k].lines
    Object.assign(results, previous[k].results)
    runs[k] = previous[k].run
  }
  const lines = [
    `# nebula-native benchmark`,
    '',
    kept.length
      ? `Scenarios ${scenarios.join(', ')} run ${when} UTC; ${kept.join(', ')} kept from earlier runs (each section shows its date).`
      : `${when} UTC · ${machine}`,
    '',
    ...goals,
  ]
  for (const k of Object.keys(SCENARIOS)) {
    if (!sections[k]) continue
    const sec = [...sections[k]]
    while (sec.at(-1) === '') sec.pop()
    lines.push(...sec, '')
  }
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results/latest.md'), lines.join('\n'))
  writeFileSync(join(here, 'results/latest.json'), JSON.stringify({ when, machine, runs, results }, null, 2))
  console.log(`\n${lines.join('\n')}\nwritten to bench/results/latest.md`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
