'use strict'

// The runtime folder of a service started by the CLI:
//   nebula.pid    the process id (written once it listens, removed when it exits)
//   control.sock  the control socket (GET /status, POST /reload)
//   nebula.log    stdout and stderr of a --daemon process (appended)
//   workers/      the gateway workers' sockets
// and finding out whether the service it describes is running.

const fs = require('node:fs')
const path = require('node:path')
const { askControl } = require('./control')

function runtimePaths(dir) {
  return {
    dir,
    pid: path.join(dir, 'nebula.pid'),
    socket: path.join(dir, 'control.sock'),
    log: path.join(dir, 'nebula.log'),
  }
}

function readPid(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Written under a temporary name, then renamed: a reader never sees half of it. */
function writePid(file, pid) {
  const tmp = `${file}.${pid}.tmp`
  fs.writeFileSync(tmp, `${pid}\n`, { mode: 0o644 })
  fs.renameSync(tmp, file)
}

/** The process exists and is not a zombie (a dead child nobody reaped yet). */
function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return err.code === 'EPERM'
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true // no /proc (macOS): kill(0) has to do
  }
}

/** Whether `pid` runs nebula (its command line names it); undefined where /proc is missing. */
function runsNebula(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nebula')
  } catch {
    return undefined
  }
}

/**
 * What the runtime folder says:
 *   { running: true, pid, status? }  (status: the control socket's answer, absent when it does not answer)
 *   { running: false, stalePid? }    (stalePid: a pid file naming a dead process, or another program)
 */
async function probe(paths) {
  const pid = readPid(paths.pid)
  const status = await askControl(paths.socket, 'GET', '/status', 3000).catch(() => undefined)
  if (pid === undefined) return status ? { running: true, pid: status.pid, status } : { running: false }
  if (!isAlive(pid)) return { running: false, stalePid: pid }
  if (status && status.pid === pid) return { running: true, pid, status }
  // Alive but silent: ours unless its command line says otherwise (a reused pid).
  if (runsNebula(pid) === false) return { running: false, stalePid: pid }
  return { running: true, pid }
}

/** Removes the pid file (when it names `pid`, or whatever it names without one) and the socket. */
function removeLeftovers(paths, pid) {
  if (pid === undefined || readPid(paths.pid) === pid) fs.rmSync(paths.pid, { force: true })
  fs.rmSync(paths.socket, { force: true })
}

/** Resolves true once `pid` is gone, false after `ms`. */
async function waitGone(pid, ms) {
  const deadline = Date.now() + ms
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, 50))
  }
  return true
}

module.exports = { runtimePaths, readPid, writePid, isAlive, probe, removeLeftovers, waitGone }
