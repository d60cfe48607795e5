'use strict'

// Where a running service's runtime folder is, found from its config file's
// path alone: `nebula start` records it in a file named after a hash of that
// path, in a folder of this user's
//   $XDG_RUNTIME_DIR/nebula/     (when XDG_RUNTIME_DIR is set)
//   <os.tmpdir()>/nebula-<uid>/  (otherwise)
// (mode 0700, checked as the runtime folder is). `stop`, `status` and `reload`
// look there first, so they still find the service after its runtimeDir was
// edited (a change only a restart applies) or while the file does not parse.

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { ensureOwnedDir, readJson, writeAtomic } = require('./runtime')

function pointerDir(env = process.env) {
  const xdg = env.XDG_RUNTIME_DIR
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'nebula')
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user'
  return path.join(os.tmpdir(), `nebula-${uid}`)
}

/** The pointer file of an (absolute) config file path. */
function pointerFile(configFile, env) {
  const id = crypto.createHash('sha256').update(path.resolve(configFile)).digest('hex').slice(0, 32)
  return path.join(pointerDir(env), `${id}.json`)
}

/** Records `{ config, runtimeDir, pid }`; throws when the folder is not safe to use. */
function writePointer(configFile, runtimeDir) {
  ensureOwnedDir(pointerDir())
  const value = { config: path.resolve(configFile), runtimeDir, pid: process.pid }
  writeAtomic(pointerFile(configFile), `${JSON.stringify(value)}\n`, 0o600)
}

/** `{ config, runtimeDir, pid }` recorded for this config file, or undefined. */
function readPointer(configFile) {
  const dir = pointerDir()
  try {
    // Only a folder that is this user's (and private) is read.
    ensureOwnedDir(dir, { create: false })
  } catch {
    return undefined
  }
  const value = readJson(pointerFile(configFile))
  if (!value || value.config !== path.resolve(configFile) || typeof value.runtimeDir !== 'string' || !path.isAbsolute(value.runtimeDir)) return undefined
  return value
}

/** Removes the pointer when it was written by `pid` (this process by default). */
function removePointer(configFile, pid = process.pid) {
  const value = readPointer(configFile)
  if (value && value.pid === pid) fs.rmSync(pointerFile(configFile), { force: true })
}

module.exports = { pointerDir, pointerFile, writePointer, readPointer, removePointer }
