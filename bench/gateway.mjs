// The `gateway` scenario of `npm run bench`: the hello body from one worker
// process (servers/uds-hello.mjs, bare node:http) listening on a Unix socket,
// proxied by nebula's gateway (servers/gateway.mjs: ServicesPlugin, the proxy
// in Rust) and by nginx (generated config, `proxy_pass` to an upstream
// `server unix:…` with a keep-alive pool), beside the same worker listening
// on TCP and hit directly (no proxy: what a proxy can at best approach).
// wrk speaks only TCP, so each proxy listens on TCP and talks to its worker
// over a Unix socket. nginx is optional: missing, it is skipped and the
// ratios are to the worker alone.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { withCpu } from './cpu.mjs'
import { freePort } from './free-port.mjs'

const PATH = '/hello'
const BODY = JSON.stringify({ hello: 'world' })

// ---- processes: every one started here is killed at the end, even on error

/** { child, group }: group = a detached child killed with its process group. */
const live = new Set()
/** Pids started by the processes above (the gateway's worker), killed after them. */
const extraPids = new Set()

function killNow(entry) {
  try {
    process.kill(entry.group ? -entry.child.pid : entry.child.pid, 'SIGKILL')
  } catch {}
}

function killEverything() {
  for (const entry of live) killNow(entry)
  live.clear()
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  extraPids.clear()
}

/** SIGTERM (to the group for a detached child), SIGKILL after 5 s; a group is SIGKILLed anyway. */
async function stop(entry) {
  if (!live.has(entry)) return
  const { child, group } = entry
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit')
    try {
      process.kill(group ? -child.pid : child.pid, 'SIGTERM')
    } catch {}
    const timer = setTimeout(() => killNow(entry), 5000)
    await exited
    clearTimeout(timer)
  }
  if (group) killNow(entry) // what the leader left behind
  live.delete(entry)
}

/** Spawns a process and resolves once its output matches `ready` (30 s at most). */
function spawnReady(cmd, args, ready, { group = false, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: group, ...options })
    const entry = { child, group }
    live.add(entry)
    let out = ''
    let done = false
    const timer = setTimeout(() => {
      done = true
      killNow(entry)
      reject(new Error(`${cmd} ${args.join(' ')} not ready within 30 s: ${out.slice(-500)}`))
    }, 30_000)
    const onData = (d) => {
      out += d
      const m = ready?.exec(out)
      if (m && !done) {
        done = true
        clearTimeout(timer)
        resolve({ entry, match: m })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('error', (err) => {
      clearTimeout(timer)
      if (!done) reject(err)
      done = true
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (!done) reject(new Error(`${cmd} ${args.join(' ')} exited (${code ?? signal}) before it was ready: ${out.trim().slice(-500)}`))
      done = true
    })
    // No `ready`: resolved at once. The listeners stay, so the pipes never fill up.
    if (!ready) {
      done = true
      clearTimeout(timer)
      resolve({ entry, match: null })
    }
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Waits until something accepts on 127.0.0.1:port (or `child` exits). */
async function waitListening(port, child, what) {
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode})`)
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${what} not listening on ${port} within 10 s`)
    await sleep(50)
  }
}

/** Peak RSS (VmHWM, MiB) summed over `pids`. */
function rssMb(pids) {
  let kib = 0
  for (const pid of pids) {
    try {
      kib += Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
    } catch {
      return NaN
    }
  }
  return kib / 1024
}

/** The processes of process group `pgid` (nginx's master and workers). */
function groupPids(pgid) {
  const pids = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      // pgrp is the 5th field; the 2nd, (comm), may hold spaces.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) === pgid) pids.push(Number(name))
    } catch {}
  }
  return pids
}

function nginxVersion() {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' })
  if (r.error || r.status !== 0) return undefined
  return /nginx\/(\S+)/.exec(`${r.stderr}${r.stdout}`)?.[1] ?? '?'
}

// ---- the contenders -------------------------------------------------------

/** nginx's worker processes: as many as nebula's tokio workers (NEBULA_WORKER_THREADS, else cores − 1, at least 1). */
function proxyThreads() {
  const env = Number(process.env.NEBULA_WORKER_THREADS)
  return Number.isInteger(env) && env > 0 ? env : Math.max(1, cpus().length - 1)
}

function nginxConfig(dir, socket, port) {
  const asRoot = process.getuid && process.getuid() === 0
  return `# Generated by bench/gateway.mjs
daemon off;
master_process on;
worker_processes ${proxyThreads()};
${asRoot ? 'user root;  # the workers must reach the worker socket (created by root)\n' : ''}pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream worker {
    server unix:${socket};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://worker;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`
}

function contenders(o, dir, nginx) {
  const node = (script, env) =>
    spawnReady('node', [script], /ready (\S+)(?: (\d+))?\r?\n/, {
      cwd: o.here,
      env: { ...process.env, PORT: '0', NODE_ENV: 'production', ...env },
    })
  return {
    nebula: {
      label: 'nebula-native gateway (ServicesPlugin, proxy in Rust)',
      async start() {
        const gw = join(dir, 'gateway')
        mkdirSync(gw, { mode: 0o700 })
        const { entry, match } = await node('servers/gateway.mjs', { RUNTIME_DIR: gw })
        const workerPid = Number(match[2])
        extraPids.add(workerPid)
        return { port: Number(match[1]), entries: [entry], proxyPids: () => [entry.child.pid], workerPid }
      },
    },
    nginx: {
      label: nginx ? `nginx ${nginx} (proxy_pass, upstream keepalive 64)` : 'nginx',
      async start() {
        if (!nginx) throw new Error('nginx not installed: skipped (apt-get install nginx)')
        const socket = join(dir, 'nginx-worker.sock')
        const worker = await node('servers/uds-hello.mjs', { NEBULA_SOCKET: socket })
        const prefix = join(dir, 'nginx')
        mkdirSync(prefix)
        const port = await freePort()
        const conf = join(prefix, 'nginx.conf')
        writeFileSync(conf, nginxConfig(prefix, socket, port))
        const { entry } = await spawnReady('nginx', ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], null, { group: true })
        try {
          await waitListening(port, entry.child, 'nginx')
        } catch (err) {
          let log = ''
          try {
            log = readFileSync(join(prefix, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' | ')
          } catch {}
          throw new Error(`${err.message}${log ? `: ${log}` : ''}`)
        }
        return { port, entries: [entry, worker.entry], proxyPids: () => groupPids(entry.child.pid), workerPid: worker.entry.child.pid }
      },
    },
    direct: {
      label: 'worker alone over TCP, no proxy (reference)',
      async start() {
        const { entry, match } = await node('servers/uds-hello.mjs', {})
        return { port: Number(match[1]), entries: [entry], proxyPids: () => [], workerPid: entry.child.pid }
      },
    },
  }
}

async function checkAnswer(port) {
  const res = await fetch(`http://127.0.0.1:${port}${PATH}`)
  const text = await res.text()
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${text.slice(0, 200)}`)
  if (text !== BODY) throw new Error(`expected the body ${BODY}, got ${text.slice(0, 200)}`)
}

async function measure(name, contender, o) {
  const started = await contender.start()
  try {
    await checkAnswer(started.port)
    o.wrk(started.port, 1) // warm-up
    const rounds = []
    // CPU per request of the proxy's processes (nginx: master and workers) and of the worker, apart.
    const proxyPids = started.proxyPids()
    const groups = { proxy: () => proxyPids, worker: () => [started.workerPid] }
    for (let i = 0; i < o.rounds; i++) rounds.push(withCpu(groups, () => o.wrk(started.port, o.duration)))
    return {
      name,
      label: contender.label,
      rps: o.median(rounds.map((r) => r.rps)),
      p50: o.median(rounds.map((r) => r.p50)),
      p99: o.median(rounds.map((r) => r.p99)),
      rss: proxyPids.length ? rssMb(proxyPids) : NaN,
      workerRss: rssMb([started.workerPid]),
      proxyCpuUs: o.median(rounds.map((r) => r.cpu.proxy.us)),
      workerCpuUs: o.median(rounds.map((r) => r.cpu.worker.us)),
      proxyUserUs: o.median(rounds.map((r) => r.cpu.proxy.userUs)),
      proxySysUs: o.median(rounds.map((r) => r.cpu.proxy.sysUs)),
      wrong: rounds.reduce((n, r) => n + r.non2xx, 0),
      errors: rounds.reduce((n, r) => n + (r.errors ?? 0), 0),
      rounds: rounds.map((r) => r.rps),
    }
  } finally {
    // The proxy before its worker.
    for (const entry of started.entries) await stop(entry)
    if (started.workerPid && extraPids.has(started.workerPid)) {
      await sleep(100) // the engine's stop() ends its worker; whatever is left is killed
      try {
        process.kill(started.workerPid, 'SIGKILL')
      } catch {}
      extraPids.delete(started.workerPid)
    }
  }
}

/**
 * Runs the scenario; pushes its markdown section onto `lines` and returns the rows.
 * `o`: { here, rounds, duration, only (contender names), wrk(port, seconds) → { rps, p50, p99, non2xx, errors }, fmt, median }
 */
export async function gatewayScenario(title, lines, o) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-gateway-'))
  const onSignal = (signal) => {
    killEverything()
    rmSync(dir, { recursive: true, force: true })
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }
  process.on('exit', killEverything)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const nginx = nginxVersion()
  const all = contenders(o, dir, nginx)
  const names = Object.keys(all).filter((n) => !o.only || o.only.has(n))
  const rows = []
  const notes = []
  try {
    for (const name of names) {
      process.stdout.write(`gateway · ${all[name].label} … `)
      if (name === 'nginx' && !nginx) {
        console.log('skipped: nginx not installed (apt-get install nginx)')
        notes.push('nginx: not installed, skipped (`apt-get install nginx`); the ratios are to the worker alone.')
        continue
      }
      try {
        const r = await measure(name, all[name], o)
        rows.push(r)
        console.log(`${o.fmt(r.rps)} req/s, p99 ${o.fmt(r.p99, 2)} ms${r.wrong || r.errors ? `, ${r.wrong} non-2xx, ${r.errors} socket errors` : ''}`)
      } catch (err) {
        killEverything() // what a failed start left running
        console.log(`skipped: ${err.message}`)
        notes.push(`${all[name].label}: skipped, ${err.message}`)
      }
    }
  } finally {
    killEverything()
    rmSync(dir, { recursive: true, force: true })
    process.off('exit', killEverything)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const base = rows.find((r) => r.name === 'nginx') ?? rows.find((r) => r.name === 'direct')
  const baseName = base?.name === 'nginx' ? 'nginx' : 'worker alone'
  lines.push(`## ${title}`, '')
  lines.push(
    `One worker process, bare node:http answering GET ${PATH} with \`${BODY}\` (bench/servers/uds-hello.mjs), ` +
      `on a Unix socket behind each proxy (which listens on TCP for wrk), and on TCP alone as the reference. ` +
      `nebula: an engine with ServicesPlugin only (1 instance, route \`${PATH}\`, bench/servers/gateway.mjs). ` +
      `nginx: generated config, ${proxyThreads()} worker process${proxyThreads() > 1 ? 'es' : ''} (as many as nebula's tokio workers), ` +
      'access log off, `proxy_pass` to an upstream `server unix:…; keepalive 64;` with `proxy_http_version 1.1` and `Connection ""`. ' +
      `The body is checked before each contender; wrk pinned to the last core, nothing else pinned. Proxy RSS: the proxy's peak ` +
      `(the engine's process; nginx's master and workers summed), the worker's apart. Proxy CPU µs/req: user + system time of ` +
      `the proxy's processes (the engine's process; nginx's master and workers) over each round ÷ requests served, median; ` +
      `worker CPU µs/req: the same for the node:http worker behind it (for the reference row, the worker serving wrk itself).`,
    '',
  )
  lines.push(
    `| contender | req/s | × ${baseName} | proxy CPU µs/req | worker CPU µs/req | p50 ms | p99 ms | proxy RSS MiB | worker RSS MiB | non-2xx | socket errors |`,
  )
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of [...rows].sort((a, b) => b.rps - a.rps)) {
    const ratio = base ? `${o.fmt(r.rps / base.rps, 2)}×` : 'n/a'
    lines.push(
      `| ${r.label} | ${o.fmt(r.rps)} | ${ratio} | ${Number.isFinite(r.proxyCpuUs) ? o.fmt(r.proxyCpuUs, 2) : '–'} | ${o.fmt(r.workerCpuUs, 2)} | ` +
        `${o.fmt(r.p50, 2)} | ${o.fmt(r.p99, 2)} | ${Number.isFinite(r.rss) ? o.fmt(r.rss) : '–'} | ` +
        `${o.fmt(r.workerRss)} | ${r.wrong} | ${r.errors} |`,
    )
  }
  const direct = rows.find((r) => r.name === 'direct')
  const share = rows.filter((r) => r.name !== 'direct').map((r) => `${r.name === 'nebula' ? 'the gateway' : r.name} ${o.fmt((100 * r.rps) / direct?.rps, 1)} %`)
  if (direct && share.length) lines.push('', `Share of the worker alone's rate: ${share.join(', ')}.`)
  if (rows.length) lines.push('', `req/s per round: ${rows.map((r) => `${r.label} ${r.rounds.map((x) => o.fmt(x)).join(' / ')}`).join('; ')}.`)
  if (notes.length) lines.push('', ...notes)
  lines.push('')
  return rows
}
