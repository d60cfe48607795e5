// LoggerPlugin: access log lines written from Rust, X-Request-Id propagated or generated.
import { describe, it, expect } from 'vitest'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { Testing, RoutePlugin, Route, PluginPriority, ModuleConfigValidationError, type Context } from '../index.js'
import { LoggerPlugin } from '../lib/plugins/logger.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// A child process: an engine with LoggerPlugin makes a few requests to itself,
// prints `RESULT <json>` and waits for its stdin to close before exiting.
const CHILD = `
const { Testing, RoutePlugin, Route, HttpError } = require(process.env.NEBULA_ROOT + '/index.js')
const { LoggerPlugin } = require(process.env.NEBULA_ROOT + '/lib/plugins/logger.js')
const header = process.env.ID_HEADER
const { Module, engine } = Testing.createTestEngine({
  plugins: [new RoutePlugin(), new LoggerPlugin(JSON.parse(process.env.LOGGER_OPTIONS))],
})
class Svc {
  user(ctx) { return { requestId: ctx.get('requestId') } }
  missing() { throw new HttpError(404, 'no such thing') }
}
const route = (name, opts) => Route(opts)(Svc.prototype, name, Object.getOwnPropertyDescriptor(Svc.prototype, name))
route('user', { method: 'GET', path: '/users/:id' })
route('missing', { method: 'POST', path: '/missing' })
Module('svc')(Svc)
async function main() {
  const port = await engine.start(0)
  const base = 'http://127.0.0.1:' + port
  const record = async (res) => ({ status: res.status, id: res.headers.get(header), body: await res.text() })
  const out = []
  out.push(await record(await fetch(base + '/users/1', { headers: { [header]: 'given-id-1' } })))
  out.push(await record(await fetch(base + '/users/2')))
  out.push(await record(await fetch(base + '/users/3?q=1')))
  out.push(await record(await fetch(base + '/missing', { method: 'POST' })))
  out.push(await record(await engine.request('/users/4')))
  process.stdout.write('RESULT ' + JSON.stringify(out) + '\\n')
  process.stdin.on('end', () => engine.stop().then(() => process.exit(0)))
  process.stdin.resume()
}
main().catch((e) => { process.stdout.write('CHILD ERROR ' + (e && e.stack) + '\\n'); process.exit(1) })
`

type Result = { status: number; id: string | null; body: string }

/** Runs the child until it reported and printed `want` access lines on `stream`. */
async function runChild(options: object, stream: 'stdout' | 'stderr', idHeader = 'x-request-id') {
  const child = spawn(process.execPath, ['-e', CHILD], {
    env: { ...process.env, NEBULA_ROOT: root, LOGGER_OPTIONS: JSON.stringify(options), ID_HEADER: idHeader },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let results: Result[] | undefined
  const access: string[] = []
  const other: string[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (results && access.length >= results.length) resolve()
      }
      const onLine = (from: 'stdout' | 'stderr') => (line: string) => {
        if (from === 'stdout' && line.startsWith('RESULT ')) results = JSON.parse(line.slice(7))
        else if (from === stream && /^(\{|GET |POST )/.test(line)) access.push(line)
        else other.push(`${from}: ${line}`)
        check()
      }
      createInterface({ input: child.stdout }).on('line', onLine('stdout'))
      createInterface({ input: child.stderr }).on('line', onLine('stderr'))
      exited.then((code) => reject(new Error(`child exited (${code}) early:\n${other.join('\n')}`)))
    })
    child.stdin.end()
    expect(await exited).toBe(0)
  } finally {
    child.kill()
  }
  return { results: results!, access, other }
}

describe('LoggerPlugin access log (child process)', () => {
  it('prints one JSON line per request on stdout with every field', async () => {
    const { results, access, other } = await runChild({}, 'stdout')
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 404, 200])
    expect(access).toHaveLength(5)
    expect(other.filter((l) => l.startsWith('stdout'))).toEqual([])
    const lines = access.map((l) => JSON.parse(l))
    for (const l of lines) {
      expect(Object.keys(l).sort()).toEqual(['bytes', 'duration_ms', 'level', 'method', 'msg', 'path', 'peer', 'request_id', 'route', 'status', 'time'].sort())
      expect(l.level).toBe('info')
      expect(l.msg).toBe('request')
      expect(typeof l.duration_ms).toBe('number')
      expect(l.duration_ms).toBeGreaterThanOrEqual(0)
      expect(Number.isNaN(Date.parse(l.time))).toBe(false)
      expect(Math.abs(Date.now() - Date.parse(l.time))).toBeLessThan(60_000)
    }
    // Lines are written in the order the requests were answered (one at a time here).
    expect(lines.map((l) => [l.method, l.path, l.route, l.status])).toEqual([
      ['GET', '/users/1', '/users/:id', 200],
      ['GET', '/users/2', '/users/:id', 200],
      ['GET', '/users/3', '/users/:id', 200],
      ['POST', '/missing', '/missing', 404],
      ['GET', '/users/4', '/users/:id', 200],
    ])
    lines.forEach((l, i) => {
      expect(l.request_id).toBe(results[i].id)
      expect(l.bytes).toBe(Buffer.byteLength(results[i].body))
    })
    expect(lines.slice(0, 4).map((l) => l.peer)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1'])
    expect(lines[4].peer).toBeNull()
  })

  it('echoes a given id, generates unique ones otherwise, and hands the id to the handler', async () => {
    const { results } = await runChild({}, 'stdout')
    expect(results[0].id).toBe('given-id-1')
    const generated = results.slice(1).map((r) => r.id)
    for (const id of generated) expect(id).toMatch(/^[0-9a-f]{16}-[0-9a-f]{12}$/)
    expect(new Set(generated).size).toBe(generated.length)
    for (const r of [results[0], results[1], results[2], results[4]]) {
      expect(JSON.parse(r.body)).toEqual({ requestId: r.id })
    }
  })

  it('prints pretty lines on stderr with a custom request id header', async () => {
    const { results, access } = await runChild({ format: 'pretty', output: 'stderr', requestIdHeader: 'X-Trace-Id' }, 'stderr', 'x-trace-id')
    expect(results[0].id).toBe('given-id-1')
    expect(access).toHaveLength(5)
    access.forEach((line, i) => {
      const m = /^(GET|POST) (\S+) (\d{3}) (\d+\.\d{2})ms (\d+)B (\S+)$/.exec(line)
      expect(m, line).not.toBeNull()
      expect(m![3]).toBe(String(results[i].status))
      expect(Number(m![5])).toBe(Buffer.byteLength(results[i].body))
      expect(m![6]).toBe(results[i].id)
    })
    expect(access[0].startsWith('GET /users/1 200 ')).toBe(true)
    expect(access[3].startsWith('POST /missing 404 ')).toBe(true)
  })
})

// In this process, logs are switched off (accessLog: false) so the test output stays clean.
function quietEngine(extraPlugins: any[] = []) {
  const { Module, Microservice, engine } = Testing.createTestEngine({
    plugins: [new RoutePlugin(), new LoggerPlugin(), ...extraPlugins],
  })
  return { Module, Microservice, engine }
}

describe('LoggerPlugin request ids (in process, log off)', () => {
  it('propagates a sane id and replaces an insane one', async () => {
    const { Module, engine } = quietEngine()
    @Module('ids', { accessLog: false })
    class Ids {
      @Route({ path: '/id' })
      id(ctx: Context) {
        return { id: ctx.get('requestId') }
      }
    }
    void Ids
    const ask = async (headers: Record<string, string>) => {
      const res = await engine.request('/id', { headers })
      return { header: res.headers.get('x-request-id'), body: await res.json() }
    }
    const given = await ask({ 'x-request-id': 'abc-DEF_123' })
    expect(given).toEqual({ header: 'abc-DEF_123', body: { id: 'abc-DEF_123' } })
    const max = 'x'.repeat(128)
    expect((await ask({ 'x-request-id': max })).header).toBe(max)
    for (const bad of ['x'.repeat(129), 'has space']) {
      const r = await ask({ 'x-request-id': bad })
      expect(r.header).toMatch(/^[0-9a-f]{16}-[0-9a-f]{12}$/)
      expect(r.body.id).toBe(r.header)
    }
  })

  it('works over a real socket and when it runs inside a TypeScript layer', async () => {
    const outer = {
      name: 'outer-ts',
      priority: PluginPriority.SYSTEM,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers) h.wrap(async (next: () => Promise<unknown>) => next())
      },
    }
    const { Module, engine } = quietEngine([outer])
    @Module('ids2')
    class Ids {
      @Route({ path: '/id', accessLog: false })
      id(ctx: Context) {
        return { id: ctx.get('requestId') }
      }
    }
    void Ids
    const port = await engine.start(0)
    try {
      const a = await fetch(`http://127.0.0.1:${port}/id`)
      const b = await fetch(`http://127.0.0.1:${port}/id`, { headers: { 'x-request-id': 'sock-1' } })
      const idA = a.headers.get('x-request-id')
      expect(idA).toMatch(/^[0-9a-f]{16}-[0-9a-f]{12}$/)
      expect(await a.json()).toEqual({ id: idA })
      expect(b.headers.get('x-request-id')).toBe('sock-1')
      expect(await b.json()).toEqual({ id: 'sock-1' })
    } finally {
      await engine.stop()
    }
  })

  it('validates its options eagerly and module/route options at load', async () => {
    expect(() => new LoggerPlugin({ format: 'xml' as any })).toThrow(/format/)
    expect(() => new LoggerPlugin({ output: 'file' as any })).toThrow(/output/)
    expect(() => new LoggerPlugin({ requestIdHeader: 'bad header' })).toThrow(/requestIdHeader/)
    expect(() => new LoggerPlugin(null as any)).toThrow(TypeError)
    const p = new LoggerPlugin({ requestIdHeader: 'X-Req' })
    expect(p.name).toBe('logger')
    expect(p.priority).toBe(PluginPriority.LOGGING)
    expect(p.options).toEqual({ format: 'json', requestIdHeader: 'x-req', output: 'stdout' })

    const { Module, engine } = quietEngine()
    @Module('bad', { accessLog: 'no' })
    class Bad {}
    void Bad
    await expect(engine.request('/x')).rejects.toBeInstanceOf(ModuleConfigValidationError)
  })
})

describe('LoggerPlugin at exit', () => {
  it('writes every queued line before stop() resolves, so even a hard kill right after loses none', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nebula-log-'))
    const file = path.join(dir, 'out.log')
    const out = openSync(file, 'w')
    const child = spawn(
      process.execPath,
      [
        '-e',
        `
const { Testing, RoutePlugin, Route } = require(process.env.NEBULA_ROOT + '/index.js')
const { LoggerPlugin } = require(process.env.NEBULA_ROOT + '/lib/plugins/logger.js')
const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), new LoggerPlugin({ format: 'pretty' })] })
class Svc { ping() { return 'pong' } }
Route({ path: '/ping' })(Svc.prototype, 'ping', Object.getOwnPropertyDescriptor(Svc.prototype, 'ping'))
Module('svc')(Svc)
;(async () => {
  // In-process requests: many lines queued in a burst, then stop() and exit at once.
  await Promise.all(Array.from({ length: 3000 }, () => engine.request('/ping').then((r) => r.text())))
  await engine.stop()
  // No exit hooks run on SIGKILL: only what stop() already wrote survives.
  process.kill(process.pid, 'SIGKILL')
})()
`,
      ],
      { env: { ...process.env, NEBULA_ROOT: root }, stdio: ['ignore', out, 'inherit'] },
    )
    const signal = await new Promise<string | null>((resolve) => child.on('close', (_c, sig) => resolve(sig)))
    closeSync(out)
    expect(signal).toBe('SIGKILL')
    const access = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('GET /ping 200'))
    rmSync(dir, { recursive: true, force: true })
    expect(access).toHaveLength(3000)
  })
})
