'use strict'

// Where a config file and its runtime folder are, without loading the
// native addon or validating the file (so `nebula stop` and `nebula status`
// work while the file is being edited).

const fs = require('node:fs')
const path = require('node:path')
const { envOverrides } = require('./env')

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
 * runtimeDir when it reads as JSON, else .nebula beside it.
 */
function runtimeDirOf(file, { env = process.env, cwd = process.cwd() } = {}) {
  const fromEnv = envOverrides(env, cwd).values.runtimeDir
  if (fromEnv) return fromEnv
  let dir = DEFAULT_RUNTIME_DIR
  try {
    const raw = JSON.parse(fs.readFileSync(file, 'utf8'))
    if (raw && typeof raw.runtimeDir === 'string' && raw.runtimeDir !== '') dir = raw.runtimeDir
  } catch {
    // Missing or unreadable: the default place.
  }
  return path.resolve(path.dirname(file), dir)
}

module.exports = { configPath, runtimeDirOf, DEFAULT_RUNTIME_DIR }
