'use strict'

// Where a config file and its runtime folder are, without loading the
// native addon or validating the whole file (so `nebula stop` and `nebula
// status` work while other parts of it are being edited).

const path = require('node:path')
const { envOverrides } = require('./env')
const { parseJson } = require('./json')
const { readConfigText } = require('./read')
const { ConfigError } = require('./errors')

const DEFAULT_RUNTIME_DIR = '.nebula'

function read(env, name) {
  const v = env[name]
  return typeof v === 'string' && v !== '' ? v : undefined
}

/** The config file: `explicit` (--config), else NEBULA_CONFIG, else ./nebula.config.json; absolute. */
function configPath(explicit, env = process.env, cwd = process.cwd()) {
  return path.resolve(cwd, explicit || read(env, 'NEBULA_CONFIG') || 'nebula.config.json')
}

/**
 * The runtime folder of a config file: NEBULA_RUNTIME_DIR, else the file's
 * runtimeDir, else .nebula beside it (also when the file does not exist).
 * Only the file's JSON and its runtimeDir are looked at: a ConfigError when
 * the file is not JSON (a syntax error mid-edit) or runtimeDir is not a
 * non-empty string, rather than a guess.
 */
function runtimeDirOf(file, { env = process.env, cwd = process.cwd() } = {}) {
  const fromEnv = envOverrides(env, cwd).values.runtimeDir
  if (fromEnv) return fromEnv
  const text = readConfigText(file, { missing: true })
  let dir = DEFAULT_RUNTIME_DIR
  if (text !== undefined) {
    const raw = parseJson(text, file)
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(file, [{ path: '', message: 'must be a JSON object { "name": …, … }' }])
    }
    if (raw.runtimeDir !== undefined) {
      if (typeof raw.runtimeDir !== 'string' || raw.runtimeDir === '') {
        throw new ConfigError(file, [{ path: 'runtimeDir', message: `must be a non-empty string, got ${JSON.stringify(raw.runtimeDir)}` }])
      }
      dir = raw.runtimeDir
    }
  }
  return path.resolve(path.dirname(file), dir)
}

module.exports = { configPath, runtimeDirOf, DEFAULT_RUNTIME_DIR }
