'use strict'

// `nebula stop | restart | status | reload | check`. Each resolves to its exit code.

// stop, status and reload need no native addon (nor a valid config: where the runtime folder
// is, is all they read of it): the rest is loaded when used.
const { configPath, runtimeDirOf } = require('../config/locate')
const { envOverrides } = require('../config/env')
const { readConfigText } = require('../config/read')
const { parseJson } = require('../config/json')
const { ConfigError, displayName } = require('../config/errors')
const { runtimePaths, probe, removeLeftovers, waitGone, forceKill, isSameProcess, instancePids, stopTimeoutOf } = require('./runtime')
const { acquireLock, queryLock } = require('./lock')
const { runtimeFolderProblem } = require('./runtime-dir')
const { readPointer, removePointer } = require('./pointer')
const { askControl } = require('./control')
const { EXIT } = require('./args')

const err = (line) => process.stderr.write(`${line}\n`)
const out = (line) => process.stdout.write(`${line}\n`)

/**
 * The runtime folder of the service started from the config file:
 * NEBULA_RUNTIME_DIR when set; else the folder `nebula start` recorded for
 * this file (pointer.js) when its service runs; else the file's runtimeDir
 * (read without validating the rest). `{ paths, file }`, or `{ code: 2, message }`
 * when the file does not parse and nothing was recorded.
 */
async function locate(configFile) {
  const file = configPath(configFile)
  const fromEnv = envOverrides(process.env, process.cwd()).values.runtimeDir
  if (fromEnv) return { paths: runtimePaths(fromEnv), file }
  const pointer = readPointer(file)
  if (pointer) {
    const lock = await queryLock(pointer.runtimeDir)
    // Held, by a service of this config (or one that does not say): that one.
    if (lock.held && (!lock.info || lock.info.config === undefined || lock.info.config === file)) {
      return { paths: runtimePaths(pointer.runtimeDir), file }
    }
  }
  try {
    return { paths: runtimePaths(runtimeDirOf(file)), file }
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    if (pointer) return { paths: runtimePaths(pointer.runtimeDir), file }
    return { code: EXIT.USAGE, message: `${e.lines.join('\n')}\nnebula: cannot tell where its runtime folder is (fix the file, or set NEBULA_RUNTIME_DIR)` }
  }
}

/** The raw JSON of the config file, or undefined. */
function rawConfig(file) {
  try {
    // Read as loading reads it: never blocking on a FIFO, never endless.
    return parseJson(readConfigText(file), file)
  } catch {
    return undefined
  }
}

function notRunning(state, removed = false) {
  return `nebula: not running${state.stalePid ? ` (stale pid file for pid ${state.stalePid}${removed ? ' removed' : ''})` : ''}`
}

/**
 * Removes what a dead service left, holding the lock meanwhile; false when
 * another process holds it. `waitMs`: how long a lock still held may take to
 * be released (a killed process's other threads may still be exiting when its
 * main thread is already a zombie).
 */
async function cleanLeftovers(paths, waitMs = 0) {
  const deadline = Date.now() + waitMs
  let taken
  for (;;) {
    try {
      taken = await acquireLock(paths.dir, () => ({ pid: process.pid, state: 'cleaning' }))
    } catch {
      return false
    }
    if (taken.lock) break
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, 50))
  }
  try {
    removeLeftovers(paths)
  } finally {
    taken.lock.close()
  }
  return true
}

async function stop({ config, timeout }) {
  const where = await locate(config)
  if (where.code !== undefined) {
    err(where.message)
    return where.code
  }
  const { paths, file } = where
  const state = await probe(paths)
  if (!state.running) {
    const removed = state.stalePid !== undefined && (await cleanLeftovers(paths))
    err(notRunning(state, removed))
    return EXIT.NOT_RUNNING
  }
  const { pid, startTime } = state
  if (pid === undefined) {
    err(`nebula: a process holds the runtime folder ${paths.dir} but does not answer, and no pid file names it: cannot stop it`)
    return EXIT.FAILURE
  }
  const wait = timeout ?? state.info?.stopTimeoutMs ?? state.status?.stopTimeoutMs ?? stopTimeoutOf(rawConfig(file))
  let known = instancePids(state.status)
  try {
    // The process the lock (or its pid file and start time) names, not whatever has that pid now.
    if (isSameProcess(pid, startTime)) process.kill(pid, 'SIGTERM')
  } catch {
    // Gone meanwhile: waitGone() says so.
  }
  if (await waitGone(pid, wait, startTime)) {
    await cleanLeftovers(paths, 2000)
    out(`nebula: stopped (pid ${pid})`)
    return EXIT.OK
  }
  // The freshest list of workers it can give (it may be too busy to answer).
  const fresh = await askControl(paths.socket, 'GET', '/status', 1000).catch(() => undefined)
  if (fresh && fresh.pid === pid) known = instancePids(fresh)
  err(`nebula: pid ${pid} still running ${wait} ms after SIGTERM: sending SIGKILL to it and to its workers' process groups`)
  forceKill(pid, startTime, known)
  if (await waitGone(pid, 5000, startTime)) {
    await cleanLeftovers(paths, 2000)
    // It could not remove its own record.
    removePointer(file, pid)
    out(`nebula: killed (pid ${pid})`)
    return EXIT.OK
  }
  err(`nebula: pid ${pid} survived SIGKILL`)
  return EXIT.FAILURE
}

async function restart(options) {
  const code = await stop(options)
  if (code !== EXIT.OK && code !== EXIT.NOT_RUNNING) return code
  return require('./start').startDaemon(options)
}

function duration(ms) {
  let s = Math.floor(ms / 1000)
  const parts = []
  for (const [unit, size] of /** @type {const} */ ([
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ])) {
    if (s >= size || parts.length > 0) parts.push(`${Math.floor(s / size)}${unit}`)
    s %= size
  }
  parts.push(`${s}s`)
  return parts.join(' ')
}

function instanceLine(i) {
  const reason = i.reason ? `: ${i.reason}` : ''
  return `#${i.instance} ${i.state}${reason} (pid ${i.pid ?? '-'}, ${i.restarts} restart${i.restarts === 1 ? '' : 's'})`
}

function reloadSummary(r) {
  if (r.errors.length > 0) return `invalid config, nothing applied (${r.errors.length} error${r.errors.length === 1 ? '' : 's'})`
  if (r.applied.length + r.refused.length + r.failed.length === 0) return 'no changes'
  const parts = [r.applied.length > 0 ? r.applied.join(', ') : 'nothing applied']
  if (r.refused.length > 0) parts.push(`${r.refused.length} change${r.refused.length === 1 ? '' : 's'} need a restart`)
  if (r.failed.length > 0) parts.push(`${r.failed.length} failed`)
  return parts.join('; ')
}

function printStatus(s) {
  out('nebula: running')
  out(`  service   ${s.name} ${s.version}`)
  out(`  pid       ${s.pid}`)
  out(`  listening ${s.host}:${s.port}`)
  out(`  uptime    ${duration(s.uptimeMs)} (since ${s.startedAt})`)
  out(`  config    ${s.config}`)
  if (s.lastReload) out(`  reloaded  ${s.lastReload.at}: ${reloadSummary(s.lastReload)}`)
  if (s.services.length === 0) return
  out('  services')
  const width = Math.max(...s.services.map((x) => x.name.length))
  for (const svc of s.services) {
    const head = `${svc.name.padEnd(width)}  ${svc.ready}/${svc.instances.length} ready`
    out(`    ${head}  ${svc.instances.map(instanceLine).join('; ')}`)
  }
}

async function status({ config, json }) {
  const where = await locate(config)
  if (where.code !== undefined) {
    err(where.message)
    return where.code
  }
  const { paths } = where
  const state = await probe(paths)
  if (!state.running) {
    if (json) out(JSON.stringify({ running: false, stalePid: state.stalePid ?? null }))
    else out(notRunning(state))
    return EXIT.NOT_RUNNING
  }
  const pid = state.pid ?? null
  if (state.state === 'starting' || state.state === 'stopping') {
    if (json) out(JSON.stringify({ running: true, state: state.state, pid, responding: false }))
    else out(`nebula: ${state.state} (pid ${pid ?? 'unknown'})`)
    return EXIT.OK
  }
  if (!state.status) {
    const note = `control socket ${paths.socket} does not answer`
    if (json) out(JSON.stringify({ running: true, state: state.state, pid, responding: false, error: note }))
    else out(`nebula: running (pid ${pid ?? 'unknown'}), but its ${note}`)
    return EXIT.OK
  }
  if (json) out(JSON.stringify({ ...state.status, responding: true }))
  else printStatus(state.status)
  return EXIT.OK
}

async function reload({ config }) {
  const where = await locate(config)
  if (where.code !== undefined) {
    err(where.message)
    return where.code
  }
  const { paths } = where
  const state = await probe(paths)
  if (!state.running) {
    err(notRunning(state))
    return EXIT.NOT_RUNNING
  }
  if (state.state === 'starting' || state.state === 'stopping') {
    err(`nebula: pid ${state.pid} is ${state.state}: not reloaded${state.state === 'starting' ? ' (try again once it serves)' : ''}`)
    return EXIT.FAILURE
  }
  if (!state.status) {
    err(`nebula: pid ${state.pid ?? 'unknown'} does not answer on ${paths.socket}`)
    return EXIT.FAILURE
  }
  const r = await askControl(paths.socket, 'POST', '/reload', 120_000)
  if (r.errors.length > 0) {
    err('nebula: config not reloaded, the running config stays in effect:')
    for (const line of r.errors) err(`  ${line}`)
    return EXIT.USAGE
  }
  for (const line of [...r.refused, ...r.failed]) err(`nebula: ${line}`)
  const none = r.refused.length + r.failed.length > 0 ? 'nothing applied' : 'no changes'
  out(`nebula: reloaded: ${r.applied.length > 0 ? r.applied.join(', ') : none}${r.failed.length > 0 ? ` (${r.failed.length} failed)` : ''}`)
  return r.failed.length > 0 ? EXIT.FAILURE : EXIT.OK
}

function summary(c) {
  const on = Object.keys(c.plugins)
  const services = (c.services || []).map((s) => `${s.name} (${s.instances ?? 1})`)
  return [
    `  service   ${c.name} ${c.version} on ${c.host}:${c.port}`,
    `  plugins   ${on.length > 0 ? on.join(', ') : 'none'}`,
    `  services  ${services.length > 0 ? services.join(', ') : 'none'}`,
    `  hub       ${c.hub ? 'on' : 'off'}, jsvm ${c.jsvm ? 'on' : 'off'}, static ${(c.static || []).length}, modules ${c.modules.length}`,
    `  runtime   ${c.runtimeDir}`,
  ]
}

async function check({ config }) {
  let c
  try {
    c = require('../config/load').loadConfig(config)
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    for (const line of e.lines) err(line)
    return EXIT.USAGE
  }
  // What `nebula start` would refuse of the runtime folder (nothing is created here).
  const problem = runtimeFolderProblem(runtimePaths(c.runtimeDir), { create: false })
  if (problem) {
    err(problem)
    return EXIT.FAILURE
  }
  out(`ok: ${displayName(c.file)}`)
  for (const line of summary(c)) out(line)
  return EXIT.OK
}

module.exports = { stop, restart, status, reload, check }
