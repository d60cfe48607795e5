'use strict'

// The runtime folder of a service started by the CLI (a real folder of the
// user's, mode 0700):
//   (lock)        held by the service from its first moment to its exit (lock.js)
//   nebula.pid    its pid, alone on its line (for PIDFile= and `kill $(cat …)`):
//                 written as soon as it holds the lock, removed when it exits
//   nebula.state  JSON: { pid, startTime, state: "starting" | "running" | "stopping", config }
//                 (startTime: field 22 of /proc/<pid>/stat, which tells a reused pid)
//   control.sock  the control socket (GET /status, POST /reload), once it serves
//   nebula.log    stdout and stderr of a --daemon process (appended)
//   workers/      the gateway workers' sockets
// and finding out whether the service it describes runs. Only the holder of
// the lock writes or removes these files.

const fs = require('node:fs')
const path = require('node:path')
const { askControl } = require('./control')
const { queryLock } = require('./lock')
const { ensureOwnedDir } = require('./runtime-dir')

const { O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW = 0 } = fs.constants

function runtimePaths(dir) {
  return {
    dir,
    pid: path.join(dir, 'nebula.pid'),
    state: path.join(dir, 'nebula.state'),
    socket: path.join(dir, 'control.sock'),
    log: path.join(dir, 'nebula.log'),
  }
}

/** Fields of /proc/<pid>/stat: state, ppid, pgrp, startTime (field 22); undefined without /proc or the process. */
function procStat(pid) {
  let text
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // "pid (comm) S ppid pgrp …": comm may hold spaces and parentheses, the last ")" ends it.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), startTime: f[19] }
}

const HAS_PROC = fs.existsSync('/proc/self/stat')

/** This process's start time, as procStat() reads it (undefined without /proc). */
const ownStartTime = () => (HAS_PROC ? procStat(process.pid)?.startTime : undefined)

function readPid(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function readJson(file) {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8'))
    return v && typeof v === 'object' ? v : undefined
  } catch {
    return undefined
  }
}

/**
 * Written under a temporary name (created exclusively, never through a
 * symbolic link), then renamed: a reader never sees half of it.
 */
function writeAtomic(file, text, mode = 0o644) {
  const tmp = `${file}.${process.pid}.tmp`
  let fd
  try {
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode)
  } catch (err) {
    if (err.code !== 'EEXIST') throw err
    // Left by a process of the same pid that died (we hold the lock): replaced.
    fs.rmSync(tmp, { force: true })
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode)
  }
  try {
    fs.writeFileSync(fd, text)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
}

/** Opens the daemon's log to append, never through a symbolic link. */
function openLog(file) {
  return fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600)
}

/** The process exists and is not a zombie (a dead child nobody reaped yet). */
function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return err.code === 'EPERM'
  }
  const stat = procStat(pid)
  return stat === undefined ? !HAS_PROC : stat.state !== 'Z'
}

/** `pid` is alive and started at `startTime` when that is known (not a reused pid). */
function isSameProcess(pid, startTime) {
  if (!Number.isSafeInteger(pid) || pid < 1 || pid === process.pid) return false
  if (!isAlive(pid)) return false
  if (startTime === undefined || !HAS_PROC) return true
  const stat = procStat(pid)
  return stat !== undefined && stat.startTime === String(startTime)
}

/**
 * What the runtime folder says:
 *   { running: true, pid?, startTime?, state, status?, info? }
 *     state: "starting" | "running" | "stopping" (what the lock's holder says), or
 *     "unresponsive" (it holds the lock but does not answer);
 *     status: the control socket's answer, when it gives one
 *   { running: false, stalePid? }  (stalePid: a pid file nobody running wrote)
 */
async function probe(paths) {
  const lock = await queryLock(paths.dir)
  // Held for a moment by a `nebula stop` removing what a dead service left: nothing runs.
  if (!lock.held || (lock.info && lock.info.state === 'cleaning')) {
    const stalePid = readPid(paths.pid)
    return stalePid === undefined ? { running: false } : { running: false, stalePid }
  }
  let pid
  let startTime
  let state
  if (lock.info) {
    ;({ pid, startTime, state } = lock.info)
  } else {
    // It holds the lock but does not answer (its event loop is busy): its files say who it is.
    const saved = readJson(paths.state)
    const filePid = readPid(paths.pid)
    const savedTime = saved && saved.pid === filePid ? saved.startTime : undefined
    // Never this process or its parent: a pid file from another life of the container, say.
    if (filePid !== undefined && filePid !== process.ppid && isSameProcess(filePid, savedTime)) {
      pid = filePid
      startTime = savedTime
    }
    state = 'unresponsive'
  }
  let status
  if (state === 'running' || state === 'unresponsive') {
    status = await askControl(paths.socket, 'GET', '/status', 3000).catch(() => undefined)
    if (status && pid !== undefined && status.pid !== pid) status = undefined
  }
  return { running: true, pid, startTime, state, status, info: lock.info }
}

/** Removes what a service that is gone left behind; only for the holder of the lock. */
function removeLeftovers(paths) {
  for (const file of [paths.pid, paths.state, paths.socket]) fs.rmSync(file, { force: true })
}

/** Resolves true once `pid` (started at `startTime`) is gone, false after `ms`. */
async function waitGone(pid, ms, startTime) {
  const deadline = Date.now() + ms
  while (isSameProcess(pid, startTime)) {
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, 50))
  }
  return true
}

/** Children of `pid` (from /proc); undefined without /proc. */
function childrenOf(pid) {
  if (!HAS_PROC) return undefined
  const out = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = procStat(name)
    if (stat && stat.ppid === pid) out.push({ pid: Number(name), pgrp: stat.pgrp })
  }
  return out
}

/**
 * The process groups of the gateway workers of `pid` (each leads its own
 * group, which holds what it started: `sh -c "python3 app.py"`'s python3).
 * With /proc: the children of `pid` that lead a group (so a pid /status gave
 * that was since reused is never taken); without: the `known` pids alive.
 */
function workerGroups(pid, known = []) {
  const children = childrenOf(pid)
  if (children === undefined) return [...new Set(known)].filter((w) => w > 1 && w !== pid && isAlive(w))
  return children.filter((c) => c.pgrp === c.pid && c.pid !== pid).map((c) => c.pid)
}

/** Whether `pid` leads its process group (a --daemon does); unknown without /proc. */
function leadsGroup(pid) {
  const stat = procStat(pid)
  return stat === undefined ? undefined : stat.pgrp === pid
}

/**
 * SIGKILL to `pid` and to its workers' process groups (which PR_SET_PDEATHSIG
 * does not reach: only the workers themselves die with the engine). `pid` is
 * stopped first (SIGSTOP) so that it starts no worker meanwhile. Returns the
 * worker groups signalled.
 */
function forceKill(pid, startTime, known = []) {
  if (!isSameProcess(pid, startTime)) return []
  const send = (target, signal) => {
    try {
      process.kill(target, signal)
    } catch {
      // gone already
    }
  }
  send(pid, 'SIGSTOP')
  const groups = workerGroups(pid, known).filter((g) => g > 1)
  for (const g of groups) send(-g, 'SIGKILL')
  // A --daemon leads its own group; anything else in it goes too. Never -1 (every process).
  if (pid > 1 && leadsGroup(pid) !== false) send(-pid, 'SIGKILL')
  send(pid, 'SIGKILL')
  return groups
}

/** Pids of every instance in a /status answer. */
function instancePids(status) {
  if (!status || !Array.isArray(status.services)) return []
  return status.services.flatMap((s) => (s.instances || []).map((i) => i.pid)).filter((p) => Number.isSafeInteger(p) && p > 1)
}

const STOP_MARGIN_MS = 5000
const GRACEFUL_DEFAULT_MS = 10 * 60 * 1000
const ENGINE_DEFAULT_MS = 30_000
const GRACE_DEFAULT_MS = 5000

/**
 * How long `nebula stop` waits after SIGTERM before SIGKILL, unless --timeout:
 * what a graceful stop of this config may take, plus a margin:
 * plugins.gracefulShutdown.shutdownTimeout (its drain, default 10 min, when the
 * plugin is on) + shutdownTimeout (the engine's stop, default 30 s) + the
 * largest services[].graceMs (the workers' stop, default 5 s, when there are
 * services) + 5 s. Takes a loaded config or the file's raw JSON.
 */
function stopTimeoutOf(config) {
  const c = config && typeof config === 'object' ? config : {}
  const plugins = c.plugins && typeof c.plugins === 'object' ? c.plugins : {}
  const gs = plugins.gracefulShutdown === true ? {} : plugins.gracefulShutdown
  const num = (v, d) => (typeof v === 'number' && v >= 0 ? v : d)
  const drain = gs && typeof gs === 'object' && gs.enabled !== false ? num(gs.shutdownTimeout, GRACEFUL_DEFAULT_MS) : 0
  const engine = num(c.shutdownTimeout, ENGINE_DEFAULT_MS)
  const services = Array.isArray(c.services) ? c.services : []
  const workers = services.length > 0 ? Math.max(...services.map((s) => num(s?.graceMs, GRACE_DEFAULT_MS))) : 0
  return drain + engine + workers + STOP_MARGIN_MS
}

module.exports = {
  runtimePaths,
  ensureOwnedDir,
  procStat,
  ownStartTime,
  readPid,
  readJson,
  writeAtomic,
  openLog,
  isAlive,
  isSameProcess,
  probe,
  removeLeftovers,
  waitGone,
  workerGroups,
  leadsGroup,
  forceKill,
  instancePids,
  stopTimeoutOf,
  STOP_MARGIN_MS,
}
