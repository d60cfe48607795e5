// Helpers of the SchedulePlugin tests: a recorder of job runs, a poll for
// states that have no event, and three fixture processes on one coordinator.
import { spawn, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { eventually } from './wait'

const root = fileURLToPath(new URL('../..', import.meta.url))

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `cond` (a state with no event of its own) every 5 ms, failing after `ms`. */
export async function until(cond: () => boolean, ms = 3000, what = 'condition') {
  await eventually(what, cond, ms, 5)
}

/** Records runs of a job: start/end times, and resolves waiters at a run count. */
export function recorder() {
  const runs: { start: number; end?: number }[] = []
  let active = 0
  let maxActive = 0
  const waiters: { n: number; resolve: () => void }[] = []
  return {
    runs,
    get maxActive() {
      return maxActive
    },
    begin() {
      active++
      maxActive = Math.max(maxActive, active)
      const run: { start: number; end?: number } = { start: performance.now() }
      runs.push(run)
      return () => {
        run.end = performance.now()
        active--
        for (const w of waiters.filter((w) => runs.filter((r) => r.end !== undefined).length >= w.n)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve()
        }
      }
    },
    /** Resolves once `n` runs have finished. */
    finished(n: number, ms = 5000) {
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${runs.length} runs after ${ms} ms`)), ms)
        waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) })
      })
    },
  }
}

export interface Node {
  id: string
  child: ChildProcess
  exited: Promise<number | null>
}

/** Three fixture processes and the run lines they print, in arrival order. */
export function cluster(coordinator: object, job: string, timing: { leaseTtlMs: number; intervalMs: number }) {
  const runs: { node: string; at: number }[] = []
  const ready = new Set<string>()
  const stopped = new Set<string>()
  let wake: () => void = () => {}
  const nodes: Node[] = ['n1', 'n2', 'n3'].map((id) => {
    const child = spawn(process.execPath, [join(root, '__test__/fixtures/schedule-node.js'), JSON.stringify(coordinator)], {
      env: { ...process.env, NODE_ID: id, JOB: job, LEASE_TTL_MS: String(timing.leaseTtlMs), INTERVAL_MS: String(timing.intervalMs) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let buf = ''
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString()
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [what, node] = buf.slice(0, nl).split(' ')
        buf = buf.slice(nl + 1)
        if (what === 'run') runs.push({ node, at: performance.now() })
        else if (what === 'ready') ready.add(node)
        else if (what === 'stopped') stopped.add(node)
      }
      wake()
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (resolve(code), wake())))
    return { id, child, exited }
  })
  /** Waits (on output, not on a clock) until `cond` holds. */
  async function until(cond: () => boolean, ms: number, what: string) {
    const deadline = setTimeout(() => wake(), ms)
    try {
      const end = performance.now() + ms
      while (!cond()) {
        if (performance.now() >= end) throw new Error(`no ${what} within ${ms} ms; runs: ${JSON.stringify(runs.map((r) => r.node))}`)
        await new Promise<void>((r) => (wake = r))
      }
    } finally {
      clearTimeout(deadline)
    }
  }
  const kill = () => nodes.forEach((n) => n.child.exitCode === null && n.child.kill('SIGKILL'))
  return { nodes, runs, ready, stopped, until, kill }
}
