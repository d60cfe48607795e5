'use strict'

// The `nebula` command (bin/nebula.js). Expected failures print one line
// (or one per config error) and exit with a code scripts can rely on:
// 0 ok, 1 runtime failure, 2 bad usage or invalid config, 3 not running.

const { parseArgs, UsageError, USAGE, EXIT } = require('./args')

async function main(argv) {
  let args
  try {
    args = parseArgs(argv)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    process.stderr.write(`nebula: ${e.message}\nRun "nebula --help" for usage.\n`)
    return EXIT.USAGE
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`)
    return EXIT.OK
  }
  if (args.version) {
    process.stdout.write(`${require('../../package.json').version}\n`)
    return EXIT.OK
  }
  // Loaded after parsing: --help works even where the native addon does not load.
  if (args.command === 'start') {
    const { startForeground, startDaemon } = require('./start')
    return args.daemon ? startDaemon(args) : startForeground(args)
  }
  return require('./commands')[/** @type {string} */ (args.command)](args)
}

/**
 * A closed stdout or stderr (`nebula check | head -1`, a log reader gone) is
 * not the command's failure, nor a service's: what is left to print there is
 * dropped, and the command ends with its own exit code. Without a listener,
 * the EPIPE would be an uncaught 'error' event: a stack trace and exit 1.
 */
function ignoreClosedOutput() {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => {})
  }
}

/** Resolves once `stream` has written what it was given (at once when it is closed). */
function flushed(stream) {
  return new Promise((/** @type {(v?: undefined) => void} */ resolve) => {
    if (stream.destroyed || stream.errored) return resolve()
    stream.write('', () => resolve())
  })
}

/** Runs the command and exits with its code once stdout and stderr are flushed. */
function run(argv) {
  ignoreClosedOutput()
  const exit = (code) => {
    Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code))
  }
  main(argv).then(exit, (e) => {
    const detail = process.env.NEBULA_LOG === 'debug' && e && e.stack ? e.stack : e?.message ? e.message : String(e)
    process.stderr.write(`nebula: ${detail}\n`)
    exit(EXIT.FAILURE)
  })
}

module.exports = { main, run }
