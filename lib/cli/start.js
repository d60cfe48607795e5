'use strict'

// `nebula start`: in the foreground, or `--daemon`: a detached copy of
// itself whose stdout and stderr go to <runtimeDir>/nebula.log; the command
// waits until that process reports it is serving (or failed), then exits.

const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { loadConfig, startFromConfig, ConfigError } = require('../config')
const { runtimePaths, probe, writePid, removeLeftovers } = require('./runtime')
const { startControlServer, checkSocketPath } = require('./control')
const { EXIT } = require('./args')

const BIN = path.join(__dirname, '..', '..', 'bin', 'nebula.js')
const READY_TIMEOUT_MS = 60_000

const err = (line) => process.stderr.write(`${line}\n`)
const out = (line) => process.stdout.write(`${line}\n`)

/** Loads the config and prepares the runtime folder; `{ code, message }` when it cannot start. */
async function prepare(configFile) {
  let config
  try {
    config = loadConfig(configFile)
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return { code: EXIT.USAGE, message: e.lines.join('\n') }
  }
  const paths = runtimePaths(config.runtimeDir)
  try {
    fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
    checkSocketPath(paths.socket)
  } catch (e) {
    return { code: EXIT.FAILURE, message: `nebula: cannot use the runtime folder: ${e.message}` }
  }
  const state = await probe(paths)
  if (state.running) {
    const port = state.status ? `, port ${state.status.port}` : ''
    return { code: EXIT.FAILURE, message: `nebula: already running (pid ${state.pid}${port}); "nebula stop" first` }
  }
  return { config, paths }
}

function statusOf(app, config, paths, startedAt) {
  return {
    running: true,
    pid: process.pid,
    name: config.name,
    version: config.version,
    host: config.host,
    port: app.port,
    startedAt: new Date(startedAt).toISOString(),
    uptimeMs: Date.now() - startedAt,
    config: config.file,
    runtimeDir: paths.dir,
    services: app.services ? app.services.status().services : [],
    lastReload: app.lastReload,
  }
}

/** Tells the `start --daemon` process waiting for us (over IPC), when there is one. */
function tellParent(message) {
  if (typeof process.send !== 'function' || !process.connected) return Promise.resolve()
  return new Promise((resolve) => {
    try {
      process.send(message, () => resolve())
    } catch {
      resolve()
    }
  })
}

/** Runs the service until SIGTERM/SIGINT; resolves to the exit code. */
async function startForeground({ config: configFile, daemonChild }) {
  const fail = async (code, message) => {
    err(message)
    await tellParent({ type: 'error', code, message })
    return code
  }
  const ready = await prepare(configFile)
  if (ready.code !== undefined) return fail(ready.code, ready.message)
  const { config, paths } = ready
  removeLeftovers(paths) // stale ones: probe() found nothing running

  // NEBULA_HOST / NEBULA_PORT are what the gateway tells a tcp worker about its own address:
  // ours must not reach the workers. Reloads read the environment as it was.
  const env = { ...process.env }
  delete process.env.NEBULA_HOST
  delete process.env.NEBULA_PORT
  let app
  try {
    app = await startFromConfig({ loaded: config, env })
  } catch (e) {
    return fail(EXIT.FAILURE, `nebula: cannot start: ${e && e.message ? e.message : e}`)
  }
  const startedAt = Date.now()
  let control
  try {
    control = await startControlServer(paths.socket, {
      status: () => statusOf(app, config, paths, startedAt),
      reload: () => app.reload(),
    })
  } catch (e) {
    await app.close().catch(() => {})
    return fail(EXIT.FAILURE, `nebula: cannot open the control socket ${paths.socket}: ${e.message}`)
  }
  writePid(paths.pid, process.pid)
  // However the process ends (signal, crash, process.exit from a plugin), the leftovers go.
  process.on('exit', () => removeLeftovers(paths, process.pid))

  const stopped = new Promise((resolve) => {
    let stopping = false
    const onSignal = (signal) => {
      if (stopping) return err(`nebula: ${signal} again: still stopping`)
      stopping = true
      err(`nebula: ${signal}: stopping`)
      control.close()
      app.close().then(
        () => resolve(EXIT.OK),
        (e) => {
          err(`nebula: stop failed: ${e && e.message ? e.message : e}`)
          resolve(EXIT.FAILURE)
        },
      )
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
  // A daemon has no terminal to hang up: SIGHUP means "reload", as for most daemons.
  if (daemonChild) process.on('SIGHUP', () => app.reload().catch((e) => err(`nebula: reload failed: ${e.message}`)))

  err(`nebula: ${config.name} ${config.version} listening on ${config.host}:${app.port} (pid ${process.pid}, config ${config.file})`)
  await tellParent({ type: 'ready', pid: process.pid, port: app.port, name: config.name, version: config.version, log: paths.log })
  if (daemonChild && process.connected) process.disconnect()
  return stopped
}

function logTail(file, from) {
  try {
    const text = fs.readFileSync(file, 'utf8').slice(from)
    return text.trim().split('\n').slice(-20).join('\n')
  } catch {
    return ''
  }
}

/** Spawns the detached service and waits for its report; resolves to the exit code. */
async function startDaemon({ config: configFile }) {
  const ready = await prepare(configFile)
  if (ready.code !== undefined) {
    err(ready.message)
    return ready.code
  }
  const { config, paths } = ready
  const logFd = fs.openSync(paths.log, 'a', 0o600)
  const from = fs.fstatSync(logFd).size
  const child = spawn(process.execPath, [BIN, 'start', '--config', config.file, '--daemon-child'], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'ipc'],
  })
  fs.closeSync(logFd)
  const outcome = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ type: 'timeout' }), READY_TIMEOUT_MS)
    const done = (v) => {
      clearTimeout(timer)
      resolve(v)
    }
    child.once('message', done)
    child.once('exit', (code, signal) => done({ type: 'exit', code, signal }))
    child.once('error', (e) => done({ type: 'error', code: EXIT.FAILURE, message: `nebula: cannot spawn the daemon: ${e.message}` }))
  })
  if (outcome.type === 'ready') {
    if (child.connected) child.disconnect()
    child.unref()
    out(`nebula: started ${outcome.name} ${outcome.version} (pid ${outcome.pid}, port ${outcome.port}); log: ${outcome.log}`)
    return EXIT.OK
  }
  if (outcome.type === 'error') {
    err(outcome.message)
    return outcome.code || EXIT.FAILURE
  }
  if (outcome.type === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    err(`nebula: the service did not report ready within ${READY_TIMEOUT_MS} ms (killed); see ${paths.log}`)
    return EXIT.FAILURE
  }
  const how = outcome.signal ? `signal ${outcome.signal}` : `code ${outcome.code}`
  const tail = logTail(paths.log, from)
  err(`nebula: the service exited (${how}) before it was ready${tail ? `:\n${tail}` : ''}`)
  return EXIT.FAILURE
}

module.exports = { startForeground, startDaemon }
