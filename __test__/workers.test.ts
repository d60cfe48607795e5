// The addon in worker threads (vitest `pool: 'threads'`, Piscina, plain
// worker_threads): loaded, used and dropped by workers in turn and at once,
// never crashes; an engine a worker made stops when that worker exits. Each
// case runs __test__/fixtures/workers-threads/driver.js in its own Node
// process, so a crash is a failed assertion on its exit, not a dead runner.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { describe, it, expect } from 'vitest'

const driver = path.join(__dirname, 'fixtures', 'workers-threads', 'driver.js')

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
  out: any
}

function drive(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, ...args], {
      env: { ...process.env, NEBULA_LOG: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      const line = stdout.trim().split('\n').pop() ?? ''
      let out: any
      try {
        out = JSON.parse(line)
      } catch {
        out = stdout
      }
      resolve({ code, signal, stderr, out })
    })
  })
}

/** The driver ended by itself, without a signal (SIGSEGV, SIGABRT) and without an error. */
function expectClean(run: Run) {
  expect({ signal: run.signal, code: run.code, stderr: run.stderr }).toEqual({ signal: null, code: 0, stderr: '' })
}

const mainServes = { status: 200, body: 'main' }

describe('loading the package in worker threads', () => {
  it('4 workers load it at once; then one loads it and exits, then another (the segfault of #17); then 4 at once; then the main thread serves', async () => {
    const run = await drive('import', '--main')
    expectClean(run)
    const loaded = { code: 0, messages: [{ loaded: true }] }
    expect(run.out.firstAtOnce).toEqual([loaded, loaded, loaded, loaded])
    expect(run.out.inTurn).toEqual([loaded, loaded])
    expect(run.out.atOnce).toEqual([loaded, loaded, loaded, loaded])
    expect(run.out.main).toEqual(mainServes)
  })

  it('engines answer engine.request() in workers in turn and at once, and are dropped with their worker', async () => {
    const run = await drive('inject', '--main')
    expectClean(run)
    const answered = (id: number) => ({ code: 0, messages: [{ status: 200, body: { pong: id } }] })
    expect(run.out.inTurn).toEqual([answered(0), answered(1)])
    expect(run.out.atOnce).toEqual([0, 1, 2, 3].map(answered))
    expect(run.out.main).toEqual(mainServes)
  })
})

describe('an engine stops when the worker that made it exits', () => {
  // The worker's end: process.exit() in it (code 0), or the parent's terminate() (code 1).
  const served = (id: number, code: number) => ({
    code,
    messages: [{ port: expect.any(Number), status: 200, body: { pong: id } }],
    accepting: false,
  })
  const expected = {
    inTurn: [served(0, 0), served(1, 0), served(0, 1), served(1, 1)],
    atOnce: [served(0, 0), served(1, 0), served(0, 1), served(1, 1)],
    main: mainServes,
  }

  it('listening engines, never stopped: their ports refuse connections once the workers exit, in turn and 4 at once', async () => {
    const run = await drive('serve', '--main')
    expectClean(run)
    expect(run.out).toEqual(expected)
  })

  it('the same with the package also loaded in the main thread (its runtime outlives the workers)', async () => {
    const run = await drive('serve', '--preload', '--main')
    expectClean(run)
    expect(run.out).toEqual(expected)
  })

  it("a hub's WebSocket clients are told 1001 (going away) when the worker exits, in turn and 4 at once", async () => {
    const run = await drive('hub', '--preload', '--main')
    expectClean(run)
    const left = (id: number) => ({ ...served(id, 0), wsClosed: 1001 })
    expect(run.out).toEqual({ inTurn: [left(0), left(1)], atOnce: [0, 1, 2, 3].map(left), main: mainServes })
  })

  it("a script VM's threads end with the worker that started it, in turn and 4 at once", async () => {
    const run = await drive('jsvm', '--preload', '--main')
    expectClean(run)
    const vm = { code: 0, messages: [{ port: expect.any(Number), status: 200, body: { vm: true } }], accepting: false }
    expect(run.out).toEqual({ inTurn: [vm, vm], atOnce: [vm, vm, vm, vm], vmThreadsLeft: [], main: mainServes })
  })

  it("a gateway's worker processes end with the worker thread that started them, in turn and 2 at once", async () => {
    const run = await drive('gateway', '--preload', '--main')
    expectClean(run)
    const gw = { code: 0, messages: [{ port: expect.any(Number), status: 200, body: { pid: 'a number' } }], accepting: false, workerRunning: false }
    expect(run.out).toEqual({ inTurn: [gw, gw], atOnce: [gw, gw], main: mainServes })
  })
})
