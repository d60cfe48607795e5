// Throwaway servers for a test file (redis-server, nats-server): a free port,
// nothing kept on disk, killed when the file is done. Suites that need one
// skip (and say why) when its binary is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

/** Why `binary` cannot be used here, or undefined when it is on PATH. */
export function binaryMissing(binary: string, what: string): string | undefined {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    return `${binary} is not on PATH (${probe.error ? probe.error.message : `exit ${probe.status}`}); install ${what} to run these tests`
  }
  return undefined
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

export interface TestServer {
  port: number
  url: string
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>
  /** Starts it again on the same port (after `stop`). */
  start(): Promise<void>
}

interface Spec {
  binary: string
  args: (port: number) => string[]
  /** Printed (stdout or stderr) once the server accepts connections. */
  ready: string
  url: (port: number) => string
}

async function launch(spec: Spec, port: number): Promise<ChildProcess> {
  const child = spawn(spec.binary, spec.args(port), { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${spec.binary} did not get ready within 10 s:\n${output}`)), 10_000)
    function fail(err: Error) {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    const early = (code: number | null) => fail(new Error(`${spec.binary} exited (${code}) before it was ready:\n${output}`))
    child.once('error', fail)
    child.once('exit', early)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(spec.ready)) {
        clearTimeout(timer)
        child.off('exit', early)
        child.off('error', fail)
        // Keep draining so a chatty server never blocks on a full pipe.
        output = ''
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
  })
  return child
}

async function startServer(spec: Spec): Promise<TestServer> {
  const port = await freePort()
  let child: ChildProcess | undefined = await launch(spec, port)
  return {
    port,
    url: spec.url(port),
    async stop() {
      const c = child
      child = undefined
      if (!c || c.exitCode !== null || c.signalCode !== null) return
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
      c.kill('SIGTERM')
      await exited
    },
    async start() {
      if (child) throw new Error(`${spec.binary} is already running`)
      child = await launch(spec, port)
    },
  }
}

/** redis-server on a free port; resolves once it accepts connections. */
export function startRedis(): Promise<TestServer> {
  return startServer({
    binary: 'redis-server',
    args: (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    ready: 'Ready to accept connections',
    url: (port) => `redis://127.0.0.1:${port}`,
  })
}

/** nats-server with JetStream (its store in a temporary folder) on a free port. */
export function startNats(): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-nats-'))
  return startServer({
    binary: 'nats-server',
    args: (port) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    ready: 'Server is ready',
    url: (port) => `nats://127.0.0.1:${port}`,
  })
}

export const redisMissing = () => binaryMissing('redis-server', 'Redis')
export const natsMissing = () => binaryMissing('nats-server', 'NATS (Debian package nats-server)')
