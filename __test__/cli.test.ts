// The `nebula` CLI as a script uses it, with real processes: check and usage
// errors and their exit codes; start --daemon → status → a request through a
// Python worker → the config edited (plugin option, instances) and applied →
// the port changed and refused → start refused while running → stop, with the
// process, its workers and its pid file gone; stale pid files; a daemon that
// cannot listen; stop escalating to SIGKILL; the gateway example's config.
import { afterEach, describe, expect, it } from 'vitest'
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
const VERSION = require('../package.json').version

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `nebula args…` in `cwd`; resolves when it exits. */
function nebula(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
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

const dirs: string[] = []
afterEach(() => {
  // Whatever a failed test left running dies with it.
  for (const dir of dirs.splice(0)) {
    for (const pidFile of [path.join(dir, '.nebula', 'nebula.pid'), path.join(dir, 'rt', 'nebula.pid')]) {
      const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : 0
      if (pid > 0 && alive(pid)) for (const target of [-pid, pid]) try { process.kill(target, 'SIGKILL') } catch {}
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
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

  it('start in the foreground writes the pid file once listening; SIGTERM stops it gracefully (exit 0) and removes it', async () => {
    const dir = tmpDir()
    const port = await freePort()
    write(dir, { name: 'fg', port, host: '127.0.0.1' })
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
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
    fs.mkdirSync(runtime)
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

  it('stop sends SIGKILL to the process group when the graceful stop outlasts --timeout', async () => {
    const dir = tmpDir()
    const mark = path.join(dir, 'request-arrived')
    // A worker that never answers, and says when a request arrived (with the NEBULA_PORT it sees).
    const hang = `require('http').createServer(() => require('fs').writeFileSync(process.env.MARK, String(process.env.NEBULA_PORT))).listen(process.env.NEBULA_SOCKET)`
    const env = { NEBULA_PORT: String(await freePort()) }
    write(dir, {
      name: 'stubborn',
      host: '127.0.0.1',
      plugins: { gracefulShutdown: { shutdownTimeout: 60000 } },
      services: [{ name: 'hang', command: [process.execPath, '-e', hang], routes: ['/hang'], env: { MARK: mark }, timeoutMs: 60000 }],
    })
    let r = await nebula(['start', '--daemon'], dir, env)
    expect(r.code).toBe(0)
    const s = await eventually('the worker ready', async () => {
      const st = await statusJson(dir)
      return st.services[0].ready === 1 && st
    })
    const worker = s.services[0].instances[0].pid
    const pending = fetch(`http://127.0.0.1:${s.port}/hang`).catch((e) => e)
    await eventually('the request in flight', () => fs.existsSync(mark))
    expect(s.port).toBe(Number(env.NEBULA_PORT))
    // The engine's own NEBULA_PORT is not passed on: for a worker it would name the worker's address.
    expect(fs.readFileSync(mark, 'utf8')).toBe('undefined')
    r = await nebula(['stop', '--timeout', '300'], dir)
    expect(r.code).toBe(0)
    expect(r.stderr).toBe(`nebula: pid ${s.pid} still running 300 ms after SIGTERM: sending SIGKILL to its process group\n`)
    expect(r.stdout).toBe(`nebula: killed (pid ${s.pid})\n`)
    expect(alive(s.pid)).toBe(false)
    await eventually('the worker gone', () => !alive(worker))
    expect(fs.existsSync(path.join(dir, '.nebula', 'nebula.pid'))).toBe(false)
    expect(await pending).toBeInstanceOf(Error)
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
