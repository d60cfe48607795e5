'use strict'

// `nebula stop | restart | status | reload | check`. Each resolves to its exit code.

// stop, status and reload need no native addon (nor a valid config): the rest is loaded when used.
const { configPath, runtimeDirOf } = require('../config/locate')
const { ConfigError, displayName } = require('../config/errors')
const { runtimePaths, probe, removeLeftovers, waitGone } = require('./runtime')
const { askControl } = require('./control')
const { EXIT } = require('./args')

const err = (line) => process.stderr.write(`${line}\n`)
const out = (line) => process.stdout.write(`${line}\n`)

/** The runtime folder of the config file, found without validating it (it may be mid-edit). */
function pathsFor(configFile) {
  return runtimePaths(runtimeDirOf(configPath(configFile)))
}

function notRunning(state, removed = false) {
  return `nebula: not running${state.stalePid ? ` (stale pid file for pid ${state.stalePid}${removed ? ' removed' : ''})` : ''}`
}

async function stop({ config, timeout }) {
  const paths = pathsFor(config)
  const state = await probe(paths)
  if (!state.running) {
    if (state.stalePid) removeLeftovers(paths)
    err(notRunning(state, true))
    return EXIT.NOT_RUNNING
  }
  const { pid } = state
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    // Gone meanwhile: waitGone() says so.
  }
  if (await waitGone(pid, timeout)) {
    removeLeftovers(paths, pid)
    out(`nebula: stopped (pid ${pid})`)
    return EXIT.OK
  }
  err(`nebula: pid ${pid} still running ${timeout} ms after SIGTERM: sending SIGKILL to its process group`)
  // A --daemon process leads its own group; gateway workers die with it (parent-death signal).
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL')
    } catch {
      // not a group leader, or gone
    }
  }
  if (await waitGone(pid, 5000)) {
    removeLeftovers(paths, pid)
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
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]]) {
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
  const paths = pathsFor(config)
  const state = await probe(paths)
  if (!state.running) {
    if (json) out(JSON.stringify({ running: false, stalePid: state.stalePid ?? null }))
    else out(notRunning(state))
    return EXIT.NOT_RUNNING
  }
  if (!state.status) {
    const note = `control socket ${paths.socket} does not answer`
    if (json) out(JSON.stringify({ running: true, pid: state.pid, responding: false, error: note }))
    else out(`nebula: running (pid ${state.pid}), but its ${note}`)
    return EXIT.OK
  }
  if (json) out(JSON.stringify({ ...state.status, responding: true }))
  else printStatus(state.status)
  return EXIT.OK
}

async function reload({ config }) {
  const paths = pathsFor(config)
  const state = await probe(paths)
  if (!state.running || !state.status) {
    err(state.running ? `nebula: pid ${state.pid} does not answer on ${paths.socket}` : notRunning(state))
    return state.running ? EXIT.FAILURE : EXIT.NOT_RUNNING
  }
  const r = await askControl(paths.socket, 'POST', '/reload', 120_000)
  if (r.errors.length > 0) {
    err('nebula: config not reloaded, the running config stays in effect:')
    for (const line of r.errors) err(`  ${line}`)
    return EXIT.USAGE
  }
  for (const line of [...r.refused, ...r.failed]) err(`nebula: ${line}`)
  const none = r.refused.length + r.failed.length > 0 ? 'nothing applied' : 'no changes'
  out(`nebula: reloaded: ${r.applied.length > 0 ? r.applied.join(', ') : none}`)
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
  out(`ok: ${displayName(c.file)}`)
  for (const line of summary(c)) out(line)
  return EXIT.OK
}

module.exports = { stop, restart, status, reload, check }
