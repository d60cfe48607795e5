'use strict'

// ConfigError: everything wrong with a config file (and the environment
// variables that override it), one line per problem:
//   nebula.config.json: plugins.rateLimit.maxRequests: must be an integer from 1 to 1000000000, got "x"
//   NEBULA_PORT: must be an integer from 0 to 65535, got "abc"

const path = require('node:path')

/** The config file as messages name it: relative to the working folder when inside it. */
function displayName(file) {
  if (!file) return 'config'
  const rel = path.relative(process.cwd(), file)
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file
}

class ConfigError extends Error {
  /**
   * @param {string} file the config file
   * @param {{ path: string, message: string, source?: string }[]} errors
   *   `source`: where the value came from when not the file (an environment variable).
   */
  constructor(file, errors) {
    const where = displayName(file)
    const lines = errors.map((e) => {
      const origin = e.source || where
      return e.path ? `${origin}: ${e.path}: ${e.message}` : `${origin}: ${e.message}`
    })
    super(lines.length === 1 ? lines[0] : `${lines.length} errors in ${where}:\n${lines.join('\n')}`)
    this.name = 'ConfigError'
    this.file = file
    this.errors = errors
    /** One line per error, each naming the file (or variable) and the field. */
    this.lines = lines
  }
}

module.exports = { ConfigError, displayName }
