'use strict'

// Command line of `nebula`: a command and its flags (node:util parseArgs).

const { parseArgs: parse } = require('node:util')

/** Exit codes, for scripts. */
const EXIT = Object.freeze({ OK: 0, FAILURE: 1, USAGE: 2, NOT_RUNNING: 3 })

/** @satisfies {NonNullable<import('node:util').ParseArgsConfig['options']>} */
const OPTIONS = /** @type {const} */ ({
  config: { type: 'string', short: 'c' },
  daemon: { type: 'boolean', short: 'd' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  // Internal: the process `start --daemon` spawns, which reports back over IPC.
  'daemon-child': { type: 'boolean' },
})

/** Flags each command takes. */
const COMMANDS = {
  start: ['config', 'daemon', 'daemon-child'],
  stop: ['config', 'timeout'],
  restart: ['config', 'timeout'],
  status: ['config', 'json'],
  reload: ['config'],
  check: ['config'],
}

const USAGE = `Usage: nebula <command> [options]

Commands:
  start [--config f] [--daemon]    run the service (in the foreground, or detached with --daemon)
  stop [--config f] [--timeout ms] SIGTERM, then SIGKILL (to it and its workers) after --timeout
                                   (default: the config's shutdown timeouts + 5000)
  restart [--config f] [--timeout ms]
                                   stop (if running), then start --daemon
  status [--config f] [--json]     running?, pid, port, uptime, services and their instances
  reload [--config f]              apply the config file now (as a change to it would, or SIGHUP)
  check [--config f]               validate the config file

Options:
  -c, --config <file>  config file (default: $NEBULA_CONFIG, else ./nebula.config.json)
  -h, --help           this help
  -v, --version        the nebula-native version

Environment: NEBULA_CONFIG, NEBULA_PORT, NEBULA_HOST, NEBULA_NAME, NEBULA_RUNTIME_DIR.
Exit codes: 0 ok, 1 runtime failure (or already running), 2 bad usage or invalid config, 3 not running.`

class UsageError extends Error {}

/** `{ command, config, daemon, daemonChild, timeout, json, help, version }` (timeout: undefined unless given); throws a UsageError. */
function parseArgs(argv) {
  let parsed
  try {
    parsed = parse({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(err.message)
  }
  const { values, positionals } = parsed
  if (values.help || values.version) return { command: undefined, help: !!values.help, version: !values.help && !!values.version }
  if (positionals.length === 0) throw new UsageError('missing command')
  const [command, ...extra] = positionals
  if (!COMMANDS[command]) throw new UsageError(`unknown command "${command}"`)
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`)
  for (const flag of Object.keys(values)) {
    if (!COMMANDS[command].includes(flag)) throw new UsageError(`"${command}" takes no --${flag}`)
  }
  let timeout
  if (values.timeout !== undefined) {
    if (!/^\d+$/.test(values.timeout)) throw new UsageError(`--timeout must be a number of milliseconds, got "${values.timeout}"`)
    timeout = Number(values.timeout)
  }
  if (values.config === '') throw new UsageError('--config needs a file')
  return {
    command,
    config: values.config,
    daemon: !!values.daemon,
    daemonChild: !!values['daemon-child'],
    timeout,
    json: !!values.json,
  }
}

module.exports = { parseArgs, UsageError, USAGE, EXIT }
