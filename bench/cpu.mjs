// Server CPU per request for `npm run bench`: a process's user + system time
// (all its threads) from /proc/<pid>/stat, fields 14 and 15, in clock ticks,
// read right before and right after each wrk round.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let tick
/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux when unknown). */
export function clockTicks() {
  if (tick === undefined) {
    try {
      tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      tick = 100
    }
  }
  return tick
}

/** { user, system } in seconds for one process (NaN when it cannot be read). */
export function processCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 2, (comm), may hold spaces: count from the last ')'. Field 3 is then index 0.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { user: Number(f[14 - 3]) / clockTicks(), system: Number(f[15 - 3]) / clockTicks() }
  } catch {
    return { user: NaN, system: NaN }
  }
}

/** Summed over `pids`; an empty list gives NaN (nothing to measure). */
export function cpuOf(pids) {
  if (!pids.length) return { user: NaN, system: NaN }
  let user = 0
  let system = 0
  for (const pid of pids) {
    const c = processCpu(pid)
    user += c.user
    system += c.system
  }
  return { user, system }
}

/**
 * Runs `round()` (a wrk round: returns { total, … }) between two CPU readings
 * of each group of pids; adds `cpu[name] = { us, userUs, sysUs }` per request served.
 * `groups`: { name: () => pids }.
 */
export function withCpu(groups, round) {
  const pids = Object.fromEntries(Object.entries(groups).map(([k, f]) => [k, f()]))
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuOf(p)]))
  const r = round()
  const cpu = {}
  for (const [k, p] of Object.entries(pids)) {
    const after = cpuOf(p)
    const n = r.total || NaN
    const userUs = ((after.user - before[k].user) * 1e6) / n
    const sysUs = ((after.system - before[k].system) * 1e6) / n
    cpu[k] = { us: userUs + sysUs, userUs, sysUs }
  }
  return { ...r, cpu }
}
