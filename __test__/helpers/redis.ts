// A throwaway redis-server for a test file: a free port, no persistence,
// killed when the file is done. Suites that need it skip (and say why) when
// redis-server is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'

/** Why Redis tests cannot run here, or undefined when redis-server is on PATH. */
export function redisMissing(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    return `redis-server is not on PATH (${probe.error ? probe.error.message : `exit ${probe.status}`}); install Redis to run these tests`
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

export interface RedisServer {
  port: number
  url: string
  stop(): Promise<void>
}

/** Starts redis-server on a free port and resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server did not get ready within 10 s:\n${output}`)), 10_000)
    function fail(err: Error) {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    const early = (code: number | null) => fail(new Error(`redis-server exited (${code}) before it was ready:\n${output}`))
    child.once('error', fail)
    child.once('exit', early)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        child.off('exit', early)
        child.off('error', fail)
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()))
  })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}
