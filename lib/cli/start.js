'use strict'

// `nebula start`: in the foreground, or `--daemon`: a detached copy of
// itself whose stdout and stderr go to <runtimeDir>/nebula.log; the command
// waits until that process reports it is serving (or failed), then exits.
//
// The serving process takes the runtime folder's lock before anything else
// (lock.js): a second start finds it held and stops there, touching nothing of
// the first one's. Holding it, it writes its pid file (state "starting"), so
// `nebula stop` can stop it while it starts. It owns SIGINT / SIGTERM (stop),
// SIGHUP (reload) from then on; GracefulShutdownPlugin's own signal handlers
// are not installed (the stop goes through its shutdown() all the same).

const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { loadConfig, startFromConfig, ConfigError } = require('../config')
const { acquireLock } = require('./lock')
const { runtimePaths, ownStartTime, probe, readPid, readJson, writeAtomic, openLog, removeLeftovers, forceKill, stopTimeoutOf } = require('./runtime')
const { writePointer, removePointer, pointerDir } = require('./pointer')
const { startControlServer } = require('./control')
const { runtimeFolderProblem } = require('./runtime-dir')
const { EXIT } = require('./args')

const BIN = path.join(__dirname, '..', '..', 'bin', 'nebula.js')
const READY_TIMEOUT_MS = 60_000

const err = (line) => process.stderr.write(`${line}\n`)
const out = (line) => process.stdout.write(`${line}\n`)
const reason = (e) => (e?.message ? e.message : String(e))

/** Loads the config and checks the runtime folder; `{ code, message }` when it cannot start. */
function prepare(configFile) {
  let config
  try {
    config = loadConfig(configFile)
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return { code: EXIT.USAGE, message: e.lines.join('\n') }
  }
  const paths = runtimePaths(config.runtimeDir)
  // `nebula check` asks the same (without creating the folder).
  const problem = runtimeFolderProblem(paths, { create: true })
  if (problem) return { code: EXIT.FAILURE, message: problem }
  return { config, paths }
}

function alreadyRunning({ pid, state, port }) {
  const detail = state && state !== 'running' ? `, ${state}` : port !== undefined ? `, port ${port}` : ''
  return `nebula: already running (pid ${pid ?? 'unknown'}${detail}); "nebula stop" first`
}

function statusOf(app, config, paths, startedAt) {
  return {
    running: true,
    state: 'running',
    pid: process.pid,
    name: config.name,
    version: config.version,
    host: config.host,
    port: app.port,
    startedAt: new Date(startedAt).toISOString(),
    uptimeMs: Date.now() - startedAt,
    config: config.file,
    runtimeDir: paths.dir,
    stopTimeoutMs: stopTimeoutOf(app.config),
    services: app.services ? app.services.status().services : [],
    lastReload: app.lastReload,
  }
}

/** Tells the `start --daemon` process waiting for us (over IPC), when there is one. */
function tellParent(message) {
  if (typeof process.send !== 'function' || !process.connected) return Promise.resolve()
  return new Promise((/** @type {(v?: undefined) => void} */ resolve) => {
    try {
      process.send?.(message, () => resolve())
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
  const ready = prepare(configFile)
  if (ready.code !== undefined) return fail(ready.code, ready.message)
  const { config, paths } = ready

  const startTime = ownStartTime()
  let phase = 'starting'
  let app
  let built = false
  let control
  let socketInode
  let stopSignal
  let reloadQueued = false
  const info = () => ({
    pid: process.pid,
    startTime,
    state: phase,
    config: config.file,
    runtimeDir: paths.dir,
    port: app ? app.port : undefined,
    stopTimeoutMs: stopTimeoutOf(app ? app.config : config),
  })

  // The lock first: nothing of the runtime folder is touched without it.
  let taken
  try {
    taken = await acquireLock(paths.dir, info)
  } catch (e) {
    return fail(EXIT.FAILURE, `nebula: cannot lock the runtime folder ${paths.dir}: ${e.message}`)
  }
  if (taken.holder) return fail(EXIT.FAILURE, alreadyRunning(taken.holder.info || {}))

  const writeState = () => writeAtomic(paths.state, `${JSON.stringify({ pid: process.pid, startTime, state: phase, config: config.file })}\n`, 0o644)
  const cleanup = () => {
    // Only what is ours: the lock makes it so, and a file is checked before it goes all the same.
    try {
      if (readPid(paths.pid) === process.pid) fs.rmSync(paths.pid, { force: true })
      if (readJson(paths.state)?.pid === process.pid) fs.rmSync(paths.state, { force: true })
      if (socketInode !== undefined && fs.lstatSync(paths.socket).ino === socketInode) fs.rmSync(paths.socket, { force: true })
    } catch {
      // gone already
    }
    try {
      removePointer(config.file)
    } catch {
      // not ours, or gone
    }
  }
  try {
    removeLeftovers(paths) // whoever wrote them is gone: we hold the lock
    writeState()
    writeAtomic(paths.pid, `${process.pid}\n`, 0o644)
  } catch (e) {
    cleanup()
    return fail(EXIT.FAILURE, `nebula: cannot write in the runtime folder ${paths.dir}: ${e.message}`)
  }
  // However the process ends (signal, crash, process.exit from a plugin), what is ours goes.
  process.on('exit', cleanup)
  try {
    writePointer(config.file, paths.dir)
  } catch (e) {
    err(`nebula: warning: cannot record where the runtime folder is (in ${pointerDir()}): ${e.message}`)
  }

  let resolveStopped
  const stopped = new Promise((resolve) => (resolveStopped = resolve))
  const beginStop = (signal) => {
    phase = 'stopping'
    try {
      writeState()
    } catch {
      // the lock says "stopping" all the same
    }
    err(`nebula: ${signal}: stopping`)
    if (control) control.close()
    // app.close() waits for a reload in progress, then stops (gracefully with GracefulShutdownPlugin).
    app.close().then(
      () => resolveStopped(EXIT.OK),
      (e) => {
        err(`nebula: stop failed: ${reason(e)}`)
        resolveStopped(EXIT.FAILURE)
      },
    )
  }
  const onStopSignal = (signal) => {
    if (phase === 'stopping' || stopSignal) return err(`nebula: ${signal} again: still stopping`)
    if (phase === 'running') return beginStop(signal)
    stopSignal = signal
    if (built) return err(`nebula: ${signal} while starting: stopping once the engine has started`)
    // Nothing started yet (config modules still loading…): nothing to stop but the process.
    phase = 'stopping'
    err(`nebula: ${signal} while starting: stopped`)
    tellParent({ type: 'error', code: EXIT.FAILURE, message: `nebula: stopped by ${signal} before it was ready` }).then(() => process.exit(EXIT.OK))
  }
  process.on('SIGTERM', onStopSignal)
  process.on('SIGINT', onStopSignal)
  // SIGHUP means "reload" (systemd's ExecReload=kill -HUP $MAINPID), in the foreground too.
  process.on('SIGHUP', () => {
    if (phase === 'starting') {
      reloadQueued = true
      return err('nebula: SIGHUP while starting: reloading once it serves')
    }
    if (phase !== 'running') return err(`nebula: SIGHUP while ${phase}: ignored`)
    err('nebula: SIGHUP: reloading the config file')
    app.reload().catch((e) => err(`nebula: reload failed: ${reason(e)}`))
  })

  // NEBULA_HOST / NEBULA_PORT are what the gateway tells a tcp worker about its own address:
  // ours must not reach the workers. Reloads read the environment as it was.
  const env = { ...process.env }
  delete process.env.NEBULA_HOST
  delete process.env.NEBULA_PORT
  try {
    app = await startFromConfig({
      loaded: config,
      env,
      onBuilt: (b) => {
        // Stopped while the modules loaded: the process is exiting, the engine must not start.
        if (phase === 'stopping') throw new Error('stopped before it started')
        built = true
        const graceful = /** @type {import('../plugins/graceful-shutdown').GracefulShutdownPlugin | undefined} */ (b.plugins.gracefulShutdown)
        if (graceful) graceful._leaveSignalsToCaller()
      },
    })
  } catch (e) {
    // The exit is on its way (see onStopSignal).
    if (phase === 'stopping') return new Promise(() => {})
    // Before the parent hears of it: `nebula start --daemon` exits on that
    // message, and its pid file must be gone by then, not at this exit.
    cleanup()
    return fail(EXIT.FAILURE, `nebula: cannot start: ${reason(e)}`)
  }
  const startedAt = Date.now()
  const stopBeforeReady = async () => {
    const signal = stopSignal
    stopSignal = undefined
    beginStop(signal)
    const code = await stopped
    await tellParent({ type: 'error', code: EXIT.FAILURE, message: `nebula: stopped by ${signal} before it was ready` })
    return code
  }
  if (stopSignal) return stopBeforeReady()
  try {
    control = await startControlServer(paths.socket, {
      status: () => statusOf(app, config, paths, startedAt),
      reload: () => app.reload(),
    })
    socketInode = fs.lstatSync(paths.socket).ino
  } catch (e) {
    await app.close().catch(() => {})
    return fail(EXIT.FAILURE, `nebula: cannot open the control socket ${paths.socket}: ${e.message}`)
  }
  if (stopSignal) return stopBeforeReady()
  phase = 'running'
  try {
    writeState()
  } catch (e) {
    err(`nebula: warning: cannot update ${paths.state}: ${e.message}`)
  }
  if (reloadQueued) app.reload().catch((e) => err(`nebula: reload failed: ${reason(e)}`))

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
  const ready = prepare(configFile)
  if (ready.code !== undefined) {
    err(ready.message)
    return ready.code
  }
  const { config, paths } = ready
  // A quick answer when it runs; the lock (taken by the daemon itself) settles races.
  const state = await probe(paths)
  if (state.running) {
    err(alreadyRunning({ pid: state.pid, state: state.state, port: state.status ? state.status.port : undefined }))
    return EXIT.FAILURE
  }
  let logFd
  try {
    logFd = openLog(paths.log)
  } catch (e) {
    const why = e.code === 'ELOOP' ? 'it is a symbolic link' : e.message
    err(`nebula: cannot open the log ${paths.log}: ${why}`)
    return EXIT.FAILURE
  }
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
  if (child.connected) child.disconnect()
  child.unref()
  if (outcome.type === 'error') {
    err(outcome.message)
    return outcome.code || EXIT.FAILURE
  }
  if (outcome.type === 'timeout') {
    forceKill(child.pid)
    err(`nebula: the service did not report ready within ${READY_TIMEOUT_MS} ms (killed); see ${paths.log}`)
    return EXIT.FAILURE
  }
  const how = outcome.signal ? `signal ${outcome.signal}` : `code ${outcome.code}`
  const tail = logTail(paths.log, from)
  err(`nebula: the service exited (${how}) before it was ready${tail ? `:\n${tail}` : ''}`)
  return EXIT.FAILURE
}

module.exports = { startForeground, startDaemon }
