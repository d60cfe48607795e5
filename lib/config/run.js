'use strict'

// startFromConfig(): load the config, build the engine, start it, and
// (by default) watch the config file and hot-reload what can be applied to
// the running engine. The CLI's `nebula start` is this plus the runtime
// folder's lock, pid file and control socket, and the signals.

const { loadConfig } = require('./load')
const { buildEngine } = require('./build')
const { applyReload } = require('./reload')
const { watchFile } = require('./watch')
const { ConfigError } = require('./errors')

const stderrLine = (line) => process.stderr.write(`${line}\n`)

/**
 * @param {object} [options]
 * @param {string} [options.config] the config file (default NEBULA_CONFIG, else ./nebula.config.json)
 * @param {object} [options.loaded] a config loadConfig() already returned (then `config` is its file)
 * @param {boolean} [options.watch=true] reload when the file changes
 * @param {(line: string) => void} [options.log] where reload messages go (default stderr)
 * @param {NodeJS.ProcessEnv} [options.env] environment overrides are read from it (default: process.env as it is at start)
 * @param {string} [options.cwd] against which --config and NEBULA_RUNTIME_DIR resolve (default process.cwd())
 * @param {(built: import('../../index').BuiltEngine) => void} [options.onBuilt] internal (the CLI): called with buildEngine()'s result before the engine starts
 *
 * When the config has `services`, NEBULA_PORT and NEBULA_HOST are removed from
 * process.env (after being read): gateway workers inherit the environment, and
 * to a worker these name its own TCP address. Reloads read the environment as
 * it was at start.
 */
async function startFromConfig(options = {}) {
  const where = { env: options.env || { ...process.env }, cwd: options.cwd || process.cwd() }
  const log = options.log || stderrLine
  const initial = options.loaded || loadConfig(options.config, where)
  if (initial.services) {
    delete process.env.NEBULA_PORT
    delete process.env.NEBULA_HOST
  }
  const built = await buildEngine(initial)
  if (options.onBuilt) options.onBuilt(built)
  const { engine } = built
  let port
  try {
    port = await engine.start(initial.port)
  } catch (err) {
    // Whatever the lifecycle started before listening (script VM threads…) stops too.
    await engine.stop().catch(() => {})
    throw err
  }

  let current = initial
  /** @type {import('../../index').ConfigReload | null} */
  let lastReload = null
  /** @type {Promise<unknown>} */
  let chain = Promise.resolve()

  /**
   * Loads the file again and applies what it can; reloads run one at a time.
   * @returns {Promise<import('../../index').ConfigReload>}
   */
  function reload() {
    const run = chain.then(async () => {
      let next
      try {
        next = loadConfig(initial.file, where)
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        log('nebula: config not reloaded, the running config stays in effect:')
        for (const line of err.lines) log(`  ${line}`)
        lastReload = { at: new Date().toISOString(), applied: [], refused: [], failed: [], errors: err.lines }
        return lastReload
      }
      const result = await applyReload({ ...built, config: current }, next, log)
      current = result.config
      lastReload = { at: new Date().toISOString(), applied: result.applied, refused: result.refused, failed: result.failed, errors: [] }
      return lastReload
    })
    chain = run.catch(() => {})
    return run
  }

  const onChange = () => reload().catch((err) => log(`nebula: config reload failed: ${err?.message ? err.message : err}`))
  let watcher
  if (options.watch !== false) {
    try {
      watcher = watchFile(initial.file, onChange, { onError: (err) => log(`nebula: stopped watching ${initial.file}: ${err.message}`) })
    } catch (err) {
      // Out of inotify watches (ENOSPC), of file descriptors (EMFILE)…: the engine serves all the same.
      log(
        `nebula: warning: cannot watch ${initial.file} (${err?.message ? err.message : err}): running without watching it; reload with "nebula reload" (or SIGHUP)`,
      )
    }
  }

  return {
    engine,
    port,
    plugins: built.plugins,
    services: built.services,
    /** The configuration in effect (the file's, minus what was refused). */
    get config() {
      return current
    },
    /** The last reload's outcome, or null. */
    get lastReload() {
      return lastReload
    },
    reload,
    /** Stops watching and stops the engine (gracefully when GracefulShutdownPlugin is configured). */
    async close() {
      if (watcher) watcher.close()
      await chain
      const graceful = /** @type {import('../../index').GracefulShutdownPlugin | undefined} */ (built.plugins.gracefulShutdown)
      if (graceful) await graceful.shutdown()
      else await engine.stop()
    },
  }
}

module.exports = { startFromConfig }
