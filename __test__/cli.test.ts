// The `nebula` CLI as a script uses it, with real processes: check and usage
// errors and their exit codes; start --daemon → status → a request through a
// Python worker → the config edited (plugin option, instances) and applied →
// the port changed and refused → start refused while running → stop, with the
// process, its workers and its pid file gone; stale pid files and reused pids;
// a daemon that cannot listen; stop escalating to SIGKILL (workers' children
// included); the gateway example's config; the runtime folder's lock (stop
// while starting, two starts at once), its permissions, and finding it after
// runtimeDir was edited or while the file does not parse; a service change
// that fails; signals in the foreground (SIGHUP, SIGTERM during a reload).
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { once } from 'node:events'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { eventually } from './helpers/wait'
import { freePort } from './helpers/servers'

const root = path.join(__dirname, '..')
const BIN = path.join(root, 'bin', 'nebula.js')
const ECHO_PY = path.join(__dirname, 'fixtures', 'workers', 'echo.py')
const ECHO_JS = path.join(__dirname, 'fixtures', 'workers', 'echo.js')
const FIXTURES = path.join(__dirname, 'fixtures', 'cli')
// Where `nebula start` records its runtime folder ($XDG_RUNTIME_DIR/nebula): one of the tests' own.
const XDG = fs.mkdtempSync(path.join(os.tmpdir(), 'nbxdg-'))
afterAll(() => fs.rmSync(XDG, { recursive: true, force: true }))
const VERSION = require('../package.json').version

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `nebula args…` in `cwd`; resolves when it exits. */
function nebula(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, XDG_RUNTIME_DIR: XDG, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A zombie nobody reaped yet is gone too.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat[stat.lastIndexOf(')') + 2] !== 'Z'
}

/** Every nebula.pid under `dir` (a few levels down). */
function pidFiles(dir: string, depth = 3): string[] {
  if (depth < 0) return []
  let entries: fs.Dirent[] = []
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {}
  return entries.flatMap((e) => (e.isDirectory() ? pidFiles(path.join(dir, e.name), depth - 1) : e.name === 'nebula.pid' ? [path.join(dir, e.name)] : []))
}

const dirs: string[] = []
const killAtEnd: number[] = []
afterEach(() => {
  // Whatever a failed test left running dies with it.
  for (const dir of dirs.splice(0)) {
    for (const pidFile of pidFiles(dir)) {
      const pid = Number(fs.readFileSync(pidFile, 'utf8'))
      if (pid > 0 && alive(pid))
        for (const target of [-pid, pid])
          try {
            process.kill(target, 'SIGKILL')
          } catch {}
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  for (const pid of killAtEnd.splice(0))
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
})

function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbcli-'))
  dirs.push(dir)
  return dir
}

const write = (dir: string, config: unknown) => fs.writeFileSync(path.join(dir, 'nebula.config.json'), JSON.stringify(config, null, 2))
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /)

async function statusJson(dir: string, env: Record<string, string> = {}, args: string[] = []) {
  const r = await nebula(['status', '--json', ...args], dir, env)
  return { code: r.code, ...JSON.parse(r.stdout) }
}

describe('nebula check and usage', () => {
  it('check: ok → 0 with a summary; invalid → 2 with every error and no stack trace; usage errors → 2', async () => {
    const dir = tmpDir()
    write(dir, { name: 'svc', plugins: { rateLimit: true }, services: [{ name: 'py', command: ['python3', 'app.py'], routes: ['/py/*'], instances: 2 }] })
    let r = await nebula(['check'], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^ok: nebula\.config\.json\n/)
    expect(r.stdout).toContain('plugins   rateLimit')
    expect(r.stdout).toContain('services  py (2)')

    write(dir, { name: 'svc', port: 'x', plugins: { rateLimit: { maxRequests: 0 } } })
    r = await nebula(['check'], dir)
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([
      'nebula.config.json: port: must be an integer from 0 to 65535, got "x"',
      'nebula.config.json: plugins.rateLimit.maxRequests: must be an integer from 1 to 1000000000, got 0',
    ])
    // start refuses an invalid config the same way, in the foreground and as a daemon.
    for (const args of [['start'], ['start', '--daemon']]) {
      r = await nebula(args, dir)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toContain('nebula.config.json: port: must be an integer')
      noStack(r.stderr)
    }
    r = await nebula(['check', '--config', 'other.json'], dir)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`other.json: cannot read the config file: no such file (${path.join(dir, 'other.json')})\n`)
    r = await nebula(['check'], dir, { NEBULA_PORT: 'abc', NEBULA_CONFIG: 'other.json' })
    expect(r.code).toBe(2)
    write(dir, { name: 'svc' })
    r = await nebula(['check'], dir, { NEBULA_HOST: 'bogus host', NEBULA_NAME: ' ' })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'NEBULA_HOST: must be an IP address or a host name, got "bogus host"\nNEBULA_NAME: must be a name (not blank, no control characters), got " "\n',
    )

    for (const [args, message] of [
      [[], 'missing command'],
      [['launch'], 'unknown command "launch"'],
      [['status', '--daemon'], '"status" takes no --daemon'],
      [['stop', '--timeout', 'soon'], '--timeout must be a number of milliseconds, got "soon"'],
      [['check', '--nope'], "Unknown option '--nope'"],
    ] as const) {
      r = await nebula([...args], dir)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toContain(message)
      noStack(r.stderr)
    }
    r = await nebula(['--help'], dir)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 runtime failure')
    expect((await nebula(['--version'], dir)).stdout).toBe(`${VERSION}\n`)
  })
})

describe('nebula start / status / stop', () => {
  it('runs a daemon with a Python worker, applies config edits, refuses a port change, and stops it with its workers', async () => {
    const dir = tmpDir()
    const [port, port2] = [await freePort(), await freePort()]
    const py = { name: 'py', command: ['python3', ECHO_PY], routes: ['/api/py/*'], healthPath: '/health' }
    const config = { name: 'cli-e2e', version: '0.0.1', port, host: '127.0.0.1', plugins: { rateLimit: { maxRequests: 1000 } }, services: [py] }
    write(dir, config)
    const runtime = path.join(dir, '.nebula')
    const logText = () => fs.readFileSync(path.join(runtime, 'nebula.log'), 'utf8')

    let r = await nebula(['start', '--daemon'], dir)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const m = /^nebula: started cli-e2e 0\.0\.1 \(pid (\d+), port (\d+)\); log: (.*)\n$/.exec(r.stdout)
    expect(m, r.stdout).not.toBeNull()
    const pid = Number(m![1])
    expect(Number(m![2])).toBe(port)
    expect(m![3]).toBe(path.join(runtime, 'nebula.log'))
    expect(fs.readFileSync(path.join(runtime, 'nebula.pid'), 'utf8')).toBe(`${pid}\n`)
    expect(fs.statSync(path.join(runtime, 'control.sock')).isSocket()).toBe(true)

    const status = await eventually('py ready', async () => {
      const s = await statusJson(dir)
      return s.services[0].ready === 1 && s
    })
    expect(status).toMatchObject({
      code: 0,
      running: true,
      pid,
      port,
      host: '127.0.0.1',
      name: 'cli-e2e',
      version: '0.0.1',
      config: path.join(dir, 'nebula.config.json'),
      services: [{ name: 'py', routes: ['/api/py/*'], ready: 1, instances: [{ instance: 0, state: 'ready', restarts: 0 }] }],
    })
    expect(status.uptimeMs).toBeGreaterThanOrEqual(0)
    r = await nebula(['status'], dir)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('nebula: running\n')
    expect(r.stdout).toContain(`  pid       ${pid}\n`)
    expect(r.stdout).toMatch(/uptime {4}\d+s/)
    expect(r.stdout).toMatch(/ {4}py {2}1\/1 ready {2}#0 ready \(pid \d+, 0 restarts\)/)

    const base = `http://127.0.0.1:${port}`
    let res = await fetch(`${base}/api/py/hello?x=1`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ worker: 'python', path: '/api/py/hello?x=1' })
    expect(res.headers.get('ratelimit-limit')).toBe('1000')

    // A plugin option and the service's instances: applied while serving.
    write(dir, { ...config, plugins: { rateLimit: { maxRequests: 500 } }, services: [{ ...py, instances: 2 }] })
    await eventually('two ready py instances', async () => {
      const s = await statusJson(dir)
      return s.services[0].instances.length === 2 && s.services[0].ready === 2
    })
    await eventually('the reload logged', () => /nebula: config reloaded: .*services \w+ \[py\]/.test(logText()))
    expect(logText()).toContain('plugins.rateLimit reconfigured')
    res = await fetch(`${base}/api/py/again`)
    expect(res.status).toBe(200)
    expect(res.headers.get('ratelimit-limit')).toBe('500')

    // The port: refused with the reason logged, the old one still served.
    write(dir, { ...config, port: port2, plugins: { rateLimit: { maxRequests: 500 } }, services: [{ ...py, instances: 2 }] })
    await eventually('the refusal logged', () => logText().includes(`nebula: port changed from ${port} to ${port2}: not applied, restart to apply\n`))
    expect((await fetch(`${base}/api/py/still`)).status).toBe(200)
    await expect(fetch(`http://127.0.0.1:${port2}/api/py/still`)).rejects.toThrow()
    expect((await statusJson(dir)).lastReload).toMatchObject({ refused: [`port changed from ${port} to ${port2}: not applied, restart to apply`] })

    // `nebula reload` applies the file on demand, with the same refusals.
    r = await nebula(['reload'], dir)
    expect(r.code).toBe(0)
    expect(r.stderr).toBe(`nebula: port changed from ${port} to ${port2}: not applied, restart to apply\n`)
    expect(r.stdout).toBe('nebula: reloaded: nothing applied\n')

    r = await nebula(['start', '--daemon'], dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`nebula: already running (pid ${pid}, port ${port}); "nebula stop" first\n`)

    const workers = (await statusJson(dir)).services[0].instances.map((i: { pid: number }) => i.pid)
    expect(workers.every(alive)).toBe(true)
    r = await nebula(['stop'], dir)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`nebula: stopped (pid ${pid})\n`)
    expect(alive(pid)).toBe(false)
    await eventually('the workers gone', () => !workers.some(alive))
    expect(fs.existsSync(path.join(runtime, 'nebula.pid'))).toBe(false)
    expect(fs.existsSync(path.join(runtime, 'control.sock'))).toBe(false)
    await expect(fetch(`${base}/api/py/gone`)).rejects.toThrow()

    r = await nebula(['status'], dir)
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('nebula: not running\n')
    expect(await statusJson(dir)).toEqual({ code: 3, running: false, stalePid: null })
    r = await nebula(['stop'], dir)
    expect(r.code).toBe(3)
    expect(r.stderr).toBe('nebula: not running\n')
  })

  it('start in the foreground writes the pid file; SIGTERM stops it gracefully (exit 0) and removes it', async () => {
    const dir = tmpDir()
    const port = await freePort()
    write(dir, { name: 'fg', port, host: '127.0.0.1' })
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: dir, env: { ...process.env, XDG_RUNTIME_DIR: XDG }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = once(child, 'exit')
    const pidFile = path.join(dir, '.nebula', 'nebula.pid')
    await eventually('the pid file', () => fs.existsSync(pidFile))
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${child.pid}\n`)
    expect(await statusJson(dir)).toMatchObject({ code: 0, running: true, pid: child.pid, port, name: 'fg', services: [] })
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
    child.kill('SIGTERM')
    expect(await exited).toEqual([0, null])
    expect(stderr).toContain(`nebula: fg 1.0.0 listening on 127.0.0.1:${port} (pid ${child.pid}`)
    expect(stderr).toContain('nebula: SIGTERM: stopping')
    expect(fs.existsSync(pidFile)).toBe(false)
    expect(fs.existsSync(path.join(dir, '.nebula', 'control.sock'))).toBe(false)
  })

  it('cleans up a stale pid file, and a daemon that cannot listen says why and leaves nothing behind', async () => {
    const dir = tmpDir()
    const runtime = path.join(dir, '.nebula')
    // Private, as nebula makes it (one open to others is refused).
    fs.mkdirSync(runtime, { mode: 0o700 })
    const dead = spawnSync(process.execPath, ['-e', '']).pid!
    fs.writeFileSync(path.join(runtime, 'nebula.pid'), `${dead}\n`)
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as net.AddressInfo).port
    try {
      write(dir, { name: 'blocked', port, host: '127.0.0.1' })
      expect(await statusJson(dir)).toEqual({ code: 3, running: false, stalePid: dead })
      let r = await nebula(['stop'], dir)
      expect(r.code).toBe(3)
      expect(r.stderr).toBe(`nebula: not running (stale pid file for pid ${dead} removed)\n`)
      expect(fs.existsSync(path.join(runtime, 'nebula.pid'))).toBe(false)

      fs.writeFileSync(path.join(runtime, 'nebula.pid'), `${dead}\n`)
      r = await nebula(['start', '--daemon'], dir)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^nebula: cannot start: .*(in use|EADDRINUSE)/i)
      noStack(r.stderr)
      expect(fs.existsSync(path.join(runtime, 'nebula.pid'))).toBe(false)
      expect(fs.existsSync(path.join(runtime, 'control.sock'))).toBe(false)
      expect((await nebula(['status'], dir)).code).toBe(3)
    } finally {
      taken.close()
    }
  })

  it("stop sends SIGKILL to the service and to its workers' process groups (their children too) when the graceful stop outlasts --timeout", async () => {
    const dir = tmpDir()
    const mark = path.join(dir, 'request-arrived')
    const pids = path.join(dir, 'worker-pids')
    fs.mkdirSync(pids)
    // The worker is `sh`; the node process that serves is its child, in its process group.
    const command = ['sh', '-c', `"${process.execPath}" "${path.join(FIXTURES, 'hang-worker.js')}"; exit 0`]
    const env = { NEBULA_PORT: String(await freePort()) }
    write(dir, {
      name: 'stubborn',
      host: '127.0.0.1',
      shutdownTimeout: 1000,
      plugins: { gracefulShutdown: { shutdownTimeout: 60000 } },
      services: [{ name: 'hang', command, routes: ['/hang'], env: { MARK: mark, WORKER_PIDS: pids }, timeoutMs: 60000, graceMs: 200 }],
    })
    let r = await nebula(['start', '--daemon'], dir, env)
    expect(r.code, r.stderr).toBe(0)
    const s = await eventually('the worker ready', async () => {
      const st = await statusJson(dir)
      return st.services[0].ready === 1 && st
    })
    // Without --timeout, stop would wait for what the config allows: the drain, the engine's stop, the workers' grace, and 5 s.
    expect(s.stopTimeoutMs).toBe(60000 + 1000 + 200 + 5000)
    const worker = s.services[0].instances[0].pid
    const child = Number(await eventually("the worker's child", () => fs.readdirSync(pids)[0]))
    expect(child).not.toBe(worker)
    expect(alive(child)).toBe(true)
    const pending = fetch(`http://127.0.0.1:${s.port}/hang`).catch((e) => e)
    await eventually('the request in flight', () => fs.existsSync(mark))
    expect(s.port).toBe(Number(env.NEBULA_PORT))
    // The engine's own NEBULA_PORT is not passed on: for a worker it would name the worker's address.
    expect(fs.readFileSync(mark, 'utf8')).toBe('undefined')
    r = await nebula(['stop', '--timeout', '300'], dir)
    expect(r.code).toBe(0)
    expect(r.stderr).toBe(`nebula: pid ${s.pid} still running 300 ms after SIGTERM: sending SIGKILL to it and to its workers' process groups\n`)
    expect(r.stdout).toBe(`nebula: killed (pid ${s.pid})\n`)
    expect(alive(s.pid)).toBe(false)
    await eventually('the worker and its child gone', () => !alive(worker) && !alive(child))
    expect(fs.existsSync(path.join(dir, '.nebula', 'nebula.pid'))).toBe(false)
    expect(fs.existsSync(path.join(dir, '.nebula', 'control.sock'))).toBe(false)
    // Nor its record of where its runtime folder is.
    expect(fs.readdirSync(path.join(XDG, 'nebula')).some((f) => fs.readFileSync(path.join(XDG, 'nebula', f), 'utf8').includes(`"pid":${s.pid}`))).toBe(false)
    expect(await pending).toBeInstanceOf(Error)
  })

  it('derives the default stop timeout from the config', () => {
    const { stopTimeoutOf } = require('../lib/cli/runtime')
    expect(stopTimeoutOf({})).toBe(30000 + 5000)
    expect(stopTimeoutOf({ shutdownTimeout: 100, services: [{ graceMs: 300 }, {}] })).toBe(100 + 5000 + 5000)
    expect(stopTimeoutOf({ plugins: { gracefulShutdown: true } })).toBe(600000 + 30000 + 5000)
    expect(stopTimeoutOf({ plugins: { gracefulShutdown: { shutdownTimeout: 2000, enabled: false } } })).toBe(35000)
    expect(stopTimeoutOf(undefined)).toBe(35000)
  })

  it('runs the gateway example from its config file (port and runtime folder from the environment)', async () => {
    const dir = tmpDir()
    const env = { NEBULA_PORT: String(await freePort()), NEBULA_RUNTIME_DIR: 'rt' }
    const config = ['--config', path.join(root, 'examples', 'gateway', 'nebula.config.json')]
    const r = await nebula(['start', '--daemon', ...config], dir, env)
    expect(r.code, r.stderr).toBe(0)
    expect(fs.existsSync(path.join(dir, 'rt', 'nebula.pid'))).toBe(true)
    await eventually('both services ready', async () => {
      const s = await statusJson(dir, env, config)
      return s.services.every((x: any) => x.ready === x.instances.length && x.ready > 0)
    })
    const base = `http://127.0.0.1:${env.NEBULA_PORT}`
    expect(await (await fetch(`${base}/api/py/hello`)).json()).toMatchObject({ service: 'python', path: '/api/py/hello' })
    expect(await (await fetch(`${base}/api/node/items?x=1`)).json()).toMatchObject({ service: 'node', path: '/items?x=1' })
    expect((await nebula(['stop', ...config], dir, env)).code).toBe(0)
    expect((await nebula(['status', ...config], dir, env)).code).toBe(3)
  })
})

describe('the runtime folder: its lock and pid file', () => {
  it('a pid file naming a live process that is not the service (a reused pid) is stale: status says so, start starts, stop leaves that process alone', async () => {
    const dir = tmpDir()
    const port = await freePort()
    write(dir, { name: 'reuse', port, host: '127.0.0.1' })
    // Another program with "nebula" on its command line, under the pid the file names.
    const decoy = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'nebula', 'start'], { stdio: 'ignore' })
    killAtEnd.push(decoy.pid!)
    await once(decoy, 'spawn')
    const runtime = path.join(dir, '.nebula')
    fs.mkdirSync(runtime, { mode: 0o700 })
    fs.writeFileSync(path.join(runtime, 'nebula.pid'), `${decoy.pid}\n`)
    expect(await statusJson(dir)).toEqual({ code: 3, running: false, stalePid: decoy.pid })
    let r = await nebula(['start', '--daemon'], dir)
    expect(r.code, r.stderr).toBe(0)
    const s = await statusJson(dir)
    expect(s).toMatchObject({ code: 0, running: true, state: 'running', port })
    expect(s.pid).not.toBe(decoy.pid)
    expect(fs.readFileSync(path.join(runtime, 'nebula.pid'), 'utf8')).toBe(`${s.pid}\n`)
    // nebula.state: the pid, its start time (field 22 of /proc/<pid>/stat) and the state.
    const stat = fs.readFileSync(`/proc/${s.pid}/stat`, 'utf8')
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
    expect(JSON.parse(fs.readFileSync(path.join(runtime, 'nebula.state'), 'utf8'))).toEqual({
      pid: s.pid,
      startTime,
      state: 'running',
      config: path.join(dir, 'nebula.config.json'),
    })
    r = await nebula(['stop'], dir)
    expect(r.code).toBe(0)
    expect(alive(decoy.pid!)).toBe(true)
    expect(alive(s.pid)).toBe(false)
  })

  it('stop while the service is still starting stops it: it never serves', async () => {
    const dir = tmpDir()
    const port = await freePort()
    const env = { SLOW_LOADING: path.join(dir, 'loading'), SLOW_RELEASE: path.join(dir, 'never') }
    write(dir, { name: 'slow', port, host: '127.0.0.1', modules: [path.join(FIXTURES, 'slow-module.mjs')] })
    const starting = nebula(['start', '--daemon'], dir, env)
    const pid = Number(await eventually('the module loading', () => fs.existsSync(env.SLOW_LOADING) && fs.readFileSync(env.SLOW_LOADING, 'utf8')))
    // Already locked, with its pid file: status, reload and start know about it.
    expect(await statusJson(dir)).toEqual({ code: 0, running: true, state: 'starting', pid, responding: false })
    expect(fs.readFileSync(path.join(dir, '.nebula', 'nebula.pid'), 'utf8')).toBe(`${pid}\n`)
    let r = await nebula(['status'], dir)
    expect(r.stdout).toBe(`nebula: starting (pid ${pid})\n`)
    r = await nebula(['reload'], dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`nebula: pid ${pid} is starting: not reloaded (try again once it serves)\n`)
    r = await nebula(['start'], dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`nebula: already running (pid ${pid}, starting); "nebula stop" first\n`)

    r = await nebula(['stop'], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`nebula: stopped (pid ${pid})\n`)
    expect(alive(pid)).toBe(false)
    const started = await starting
    expect(started.code).toBe(1)
    expect(started.stderr).toBe('nebula: stopped by SIGTERM before it was ready\n')
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow()
    expect(fs.readdirSync(path.join(dir, '.nebula')).sort()).toEqual(['nebula.log'])
    expect((await nebula(['status'], dir)).code).toBe(3)
  })

  it('two starts at once: one serves, the other says it is already running and leaves the first one alone', async () => {
    const dir = tmpDir()
    const port = await freePort()
    const env = { SLOW_LOADING: path.join(dir, 'loading'), SLOW_RELEASE: path.join(dir, 'release') }
    write(dir, { name: 'race', port, host: '127.0.0.1', modules: [path.join(FIXTURES, 'slow-module.mjs')] })
    // The winner holds its start (its module waits) until the loser has given up.
    const first = nebula(['start', '--daemon'], dir, env)
    const second = nebula(['start', '--daemon'], dir, env)
    const loser = await Promise.race([first, second])
    const pid = Number(await eventually('the winner loading its module', () => fs.existsSync(env.SLOW_LOADING) && fs.readFileSync(env.SLOW_LOADING, 'utf8')))
    expect(loser.code).toBe(1)
    expect(loser.stderr).toBe(`nebula: already running (pid ${pid}, starting); "nebula stop" first\n`)
    fs.writeFileSync(env.SLOW_RELEASE, '')
    const [a, b] = await Promise.all([first, second])
    const winner = a === loser ? b : a
    expect(winner.code, winner.stderr).toBe(0)
    expect(winner.stdout).toContain(`(pid ${pid}, port ${port})`)
    // The loser removed nothing of the winner's.
    const runtime = path.join(dir, '.nebula')
    expect(fs.readFileSync(path.join(runtime, 'nebula.pid'), 'utf8')).toBe(`${pid}\n`)
    expect(fs.statSync(path.join(runtime, 'control.sock')).isSocket()).toBe(true)
    expect(await statusJson(dir)).toMatchObject({ code: 0, running: true, pid, port })
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
    const r = await nebula(['stop'], dir)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`nebula: stopped (pid ${pid})\n`)
  })

  it('finds the service after runtimeDir was edited and while the file does not parse; without a record, a parse error is exit 2', async () => {
    const dir = tmpDir()
    const port = await freePort()
    const config = { name: 'moved', port, host: '127.0.0.1', runtimeDir: 'rt1' }
    write(dir, config)
    let r = await nebula(['start', '--daemon'], dir)
    expect(r.code, r.stderr).toBe(0)
    const { pid } = await statusJson(dir)
    // Recorded under $XDG_RUNTIME_DIR/nebula, in a file named after the config file's path.
    const records = path.join(XDG, 'nebula')
    expect(fs.statSync(records).mode & 0o777).toBe(0o700)
    const record = fs
      .readdirSync(records)
      .map((f) => JSON.parse(fs.readFileSync(path.join(records, f), 'utf8')))
      .find((x) => x.pid === pid)
    expect(record).toEqual({ config: path.join(dir, 'nebula.config.json'), runtimeDir: path.join(dir, 'rt1'), pid })

    write(dir, { ...config, runtimeDir: 'rt2' })
    await eventually('the refusal logged', () => fs.readFileSync(path.join(dir, 'rt1', 'nebula.log'), 'utf8').includes('runtimeDir changed'))
    expect(await statusJson(dir)).toMatchObject({ code: 0, running: true, pid, runtimeDir: path.join(dir, 'rt1') })
    fs.writeFileSync(path.join(dir, 'nebula.config.json'), '{ "name": "moved", "runtimeDir": ')
    expect(await statusJson(dir)).toMatchObject({ code: 0, running: true, pid })
    expect((await nebula(['reload'], dir)).code).toBe(2) // the daemon's own load of the file fails
    r = await nebula(['stop'], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`nebula: stopped (pid ${pid})\n`)
    expect(fs.readdirSync(records).some((f) => fs.readFileSync(path.join(records, f), 'utf8').includes(`"pid":${pid}`))).toBe(false)

    // Nothing recorded any more: no guess at where it would be.
    for (const command of ['status', 'stop', 'reload']) {
      r = await nebula([command], dir)
      expect(r.code, command).toBe(2)
      expect(r.stderr).toBe(
        'nebula.config.json: invalid JSON at line 1, column 34: unexpected end of file\n' +
          'nebula: cannot tell where its runtime folder is (fix the file, or set NEBULA_RUNTIME_DIR)\n',
      )
    }
    expect((await nebula(['status'], dir, { NEBULA_RUNTIME_DIR: 'rt1' })).code).toBe(3)
  })

  it('the runtime folder must be a real, private folder of this user: a symbolic link, a folder of another user, an existing folder open to others (left as it is) or a log that is a symbolic link is refused', async () => {
    const dir = tmpDir()
    const port = await freePort()
    write(dir, { name: 'perm', port, host: '127.0.0.1', runtimeDir: 'rt' })
    const rt = path.join(dir, 'rt')
    fs.mkdirSync(path.join(dir, 'elsewhere'))
    fs.symlinkSync('elsewhere', rt)
    for (const args of [['start'], ['start', '--daemon']]) {
      const r = await nebula(args, dir)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr).toBe(`nebula: cannot use the runtime folder: ${rt} is a symbolic link: it must be a real folder\n`)
    }
    expect(fs.readdirSync(path.join(dir, 'elsewhere'))).toEqual([])
    fs.rmSync(rt)

    fs.mkdirSync(rt, { mode: 0o755 })
    fs.chmodSync(rt, 0o755)
    if (process.getuid!() === 0) {
      fs.chownSync(rt, 65534, 65534)
      const r = await nebula(['start', '--daemon'], dir)
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(`nebula: cannot use the runtime folder: ${rt} belongs to uid 65534, not to this user (uid 0)\n`)
      fs.chownSync(rt, 0, 0)
    }
    // Not created by nebula and open to others: refused, its mode untouched.
    const open = await nebula(['start', '--daemon'], dir)
    expect(open.code).toBe(1)
    expect(open.stderr).toMatch(new RegExp(`^nebula: cannot use the runtime folder: ${rt} is open to other users \\(mode 0755\\)`))
    expect(fs.statSync(rt).mode & 0o777).toBe(0o755)
    fs.chmodSync(rt, 0o700)
    const target = path.join(dir, 'target')
    fs.symlinkSync(target, path.join(rt, 'nebula.log'))
    let r = await nebula(['start', '--daemon'], dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`nebula: cannot open the log ${path.join(rt, 'nebula.log')}: it is a symbolic link\n`)
    expect(fs.existsSync(target)).toBe(false)
    expect(fs.statSync(rt).mode & 0o777).toBe(0o700)
    fs.rmSync(path.join(rt, 'nebula.log'))

    r = await nebula(['start', '--daemon'], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(fs.statSync(path.join(rt, 'nebula.log')).mode & 0o777).toBe(0o600)
    expect((await nebula(['stop'], dir)).code).toBe(0)
  })
})

describe('reload and signals', () => {
  it('a service change whose workers fail is not applied: reload exits 1, the old workers serve, and the next reload tries again', async () => {
    const dir = tmpDir()
    const port = await freePort()
    const svc = { name: 'node', command: [process.execPath, ECHO_JS], routes: ['/api/node/*'], healthPath: '/health' }
    const config = { name: 'failing', port, host: '127.0.0.1', services: [svc] }
    write(dir, config)
    let r = await nebula(['start', '--daemon'], dir)
    expect(r.code, r.stderr).toBe(0)
    const before = await eventually('the worker ready', async () => {
      const s = await statusJson(dir)
      return s.services[0].ready === 1 && s.services[0].instances[0].pid
    })
    const url = `http://127.0.0.1:${port}/api/node/x`
    write(dir, { ...config, services: [{ ...svc, command: [process.execPath, '-e', 'process.exit(3)'] }] })
    // The change is seen by the watch, and tried again by each `nebula reload`: failed each time.
    const failed = /^nebula: services: node failed, not applied: .*exited with code 3/
    await eventually('the failure logged', () =>
      failed.test(
        fs
          .readFileSync(path.join(dir, '.nebula', 'nebula.log'), 'utf8')
          .split('\n')
          .find((l) => l.includes('failed')) ?? '',
      ),
    )
    for (let i = 0; i < 2; i++) {
      r = await nebula(['reload'], dir)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(failed)
      expect(r.stdout).toBe('nebula: reloaded: nothing applied (1 failed)\n')
    }
    const s = await statusJson(dir)
    expect(s.lastReload).toMatchObject({ applied: [], failed: [expect.stringMatching(/^services: node failed, not applied: /)] })
    expect(s.services[0].instances.map((i: { pid: number }) => i.pid)).toEqual([before])
    expect(await (await fetch(url)).json()).toMatchObject({ worker: 'node', pid: before })
    // Fixed: applied.
    write(dir, { ...config, services: [{ ...svc, env: { FIXED: '1' } }] })
    r = await nebula(['reload'], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^nebula: reloaded: (services restarted \[node\]|no changes)\n$/)
    expect((await nebula(['stop'], dir)).code).toBe(0)
  })

  it("in the foreground: SIGHUP reloads; SIGTERM during a reload waits for it, then stops gracefully without the plugin's own handler or a stack trace", async () => {
    const dir = tmpDir()
    const port = await freePort()
    const started = path.join(dir, 'started')
    const release = path.join(dir, 'release')
    const svc = { name: 'w', command: [process.execPath, ECHO_JS], routes: ['/w/*'], healthPath: '/health' }
    const config = { name: 'fg-signals', port, host: '127.0.0.1', plugins: { gracefulShutdown: { shutdownTimeout: 5000 } }, services: [svc] }
    write(dir, config)
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: dir, env: { ...process.env, XDG_RUNTIME_DIR: XDG }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = once(child, 'exit')
    await eventually('serving', async () => (await statusJson(dir)).services?.[0]?.ready === 1)

    child.kill('SIGHUP')
    await eventually('the SIGHUP reload', () => stderr.includes('nebula: SIGHUP: reloading the config file\nnebula: config reloaded: no changes\n'))
    expect(alive(child.pid!)).toBe(true)

    // A change whose new worker is ready only once `release` exists: the reload is in progress until then.
    write(dir, {
      ...config,
      services: [{ ...svc, command: [process.execPath, path.join(FIXTURES, 'slow-worker.js')], env: { STARTED: started, RELEASE: release } }],
    })
    const worker = Number(await eventually('the new worker started', () => fs.existsSync(started) && fs.readFileSync(started, 'utf8')))
    child.kill('SIGTERM')
    await eventually('the stop begun', () => stderr.includes('nebula: SIGTERM: stopping\n'))
    fs.writeFileSync(release, '')
    expect(await exited).toEqual([0, null])
    const stop = stderr.indexOf('nebula: SIGTERM: stopping')
    const reloaded = stderr.indexOf('nebula: config reloaded: services restarted [w]')
    expect(reloaded).toBeGreaterThan(stop)
    expect(stderr).not.toContain('GracefulShutdownPlugin')
    noStack(stderr)
    expect(alive(worker)).toBe(false)
    expect(pidFiles(dir)).toEqual([])
  })
})
