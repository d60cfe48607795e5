'use strict'

// Environment variables that override the config file. These and only these:
//   NEBULA_CONFIG       the config file (default ./nebula.config.json)
//   NEBULA_PORT         port (an integer 0-65535)
//   NEBULA_HOST         host
//   NEBULA_NAME         name
//   NEBULA_RUNTIME_DIR  runtimeDir (relative to the working folder, not to the config file)
// A variable set to the empty string counts as unset; any other bad value is an
// error naming the variable. NEBULA_CONFIG is read by locate.js.

const net = require('node:net')
const path = require('node:path')

const OVERRIDES = [
  { variable: 'NEBULA_PORT', key: 'port', parse: port },
  { variable: 'NEBULA_HOST', key: 'host', parse: host },
  { variable: 'NEBULA_NAME', key: 'name', parse: name },
  { variable: 'NEBULA_RUNTIME_DIR', key: 'runtimeDir', parse: (v, cwd) => path.resolve(cwd, v) },
]

function port(v) {
  if (!/^\d+$/.test(v.trim()) || Number(v) > 65535) throw new Error(`must be an integer from 0 to 65535, got ${JSON.stringify(v)}`)
  return Number(v)
}

/** A host name (RFC 1123 labels, at most 253 characters): `localhost`, `api.internal`. */
const HOSTNAME = /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/

function host(v) {
  if (net.isIP(v) === 0 && !HOSTNAME.test(v)) throw new Error(`must be an IP address or a host name, got ${JSON.stringify(v)}`)
  return v
}

function name(v) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: it looks for control characters
  if (v.trim() === '' || /[\u0000-\u001f\u007f]/.test(v)) throw new Error(`must be a name (not blank, no control characters), got ${JSON.stringify(v)}`)
  return v
}

function read(env, name) {
  const v = env[name]
  return typeof v === 'string' && v !== '' ? v : undefined
}

/**
 * The overrides the environment sets: `{ values: { port, … }, errors: [{ path: '', message, source }] }`.
 * `runtimeDir` comes back absolute.
 */
function envOverrides(env = process.env, cwd = process.cwd()) {
  const values = {}
  const errors = []
  for (const { variable, key, parse } of OVERRIDES) {
    const raw = read(env, variable)
    if (raw === undefined) continue
    try {
      values[key] = parse(raw, cwd)
    } catch (err) {
      errors.push({ path: '', message: err.message, source: variable })
    }
  }
  return { values, errors }
}

module.exports = { envOverrides, checkHost: host }
