// Engine nodes as separate processes (__test__/fixtures/cluster-node.js),
// for cluster tests and the cluster benchmark.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'

export const ADMIN = 'cluster-admin-token-0123'

export interface Node {
  id: string
  port: number
  child: ChildProcess
  ws(query?: string): string
  api(p: string, init?: RequestInit): Promise<any>
  /** Output lines so far (stdout and stderr). */
  log: string[]
  exited: Promise<void>
}

const fixture = path.join(__dirname, '..', 'fixtures', 'cluster-node.js')

/** Starts a node on `busUrl`; resolves once it listens. */
export function startNode(busUrl: string, id: string, env: Record<string, string> = {}): Promise<Node> {
  const child = spawn(process.execPath, [fixture, busUrl], {
    env: { ...process.env, NODE_ID: id, NEBULA_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log: string[] = []
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  readline.createInterface({ input: child.stderr! }).on('line', (l) => log.push(l))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${id} did not start within 15 s:\n${log.join('\n')}`)), 15_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`node ${id} exited (${code}) before it was ready:\n${log.join('\n')}`))
    })
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      log.push(line)
      if (!line.startsWith('{"ready"')) return
      clearTimeout(timer)
      const { port } = JSON.parse(line)
      resolve({
        id,
        port,
        child,
        log,
        exited,
        ws: (query = '') => `ws://127.0.0.1:${port}/ws${query}`,
        async api(p, init = {}) {
          const res = await fetch(`http://127.0.0.1:${port}/api/${p}`, {
            ...init,
            headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
          })
          const text = await res.text()
          return { status: res.status, body: text ? JSON.parse(text) : null }
        },
      })
    })
  })
}

/** Stops a node gracefully (SIGTERM) and waits for its exit. */
export async function stopNode(n: Node) {
  if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGTERM')
  await n.exited
}

export { eventually } from './wait'
