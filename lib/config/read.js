'use strict'

// Reading a config file's text, for loading it (load.js) and for finding its
// runtime folder (locate.js). Whatever --config names is opened without
// blocking and must be a regular file of at most MAX_CONFIG_BYTES: a FIFO
// would block the command forever and /dev/zero would fill the memory.
// Needs nothing but node:fs (`nebula stop` uses it without the addon).

const fs = require('node:fs')
const { ConfigError } = require('./errors')

/** A config file is a few kilobytes; anything this large is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024

const { O_RDONLY, O_NONBLOCK = 0 } = fs.constants

function cannotRead(file, why) {
  return new ConfigError(file, [{ path: '', message: `cannot read the config file: ${why}` }])
}

function reason(err, file) {
  switch (err.code) {
    case 'ENOENT':
      return `no such file (${file})`
    case 'EISDIR':
      return 'is a folder, not a file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ELOOP':
      return 'too many symbolic links (a symbolic link loop?)'
    case 'ENOTDIR':
      return `a part of the path is not a folder (${file})`
    case 'ENAMETOOLONG':
      return 'the path is too long'
    default:
      return err.message
  }
}

/**
 * The file's text (UTF-8), or a ConfigError saying why it cannot be read.
 * `missing: true` makes a missing file (ENOENT) return undefined instead.
 */
function readConfigText(file, { missing = false } = {}) {
  let fd
  try {
    fd = fs.openSync(file, O_RDONLY | O_NONBLOCK)
  } catch (err) {
    if (missing && err.code === 'ENOENT') return undefined
    throw cannotRead(file, reason(err, file))
  }
  try {
    const st = fs.fstatSync(fd)
    if (st.isDirectory()) throw cannotRead(file, 'is a folder, not a file')
    if (!st.isFile()) throw cannotRead(file, 'not a regular file (a device, FIFO or socket)')
    if (st.size > MAX_CONFIG_BYTES) throw cannotRead(file, `too large (${st.size} bytes, at most ${MAX_CONFIG_BYTES})`)
    // Read to the end, within the limit: the file may grow while it is read.
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1)
    let n = 0
    for (;;) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null)
      if (got === 0) break
      n += got
      if (n > MAX_CONFIG_BYTES) throw cannotRead(file, `too large (more than ${MAX_CONFIG_BYTES} bytes)`)
    }
    return buf.toString('utf8', 0, n)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw cannotRead(file, reason(err, file))
  } finally {
    fs.closeSync(fd)
  }
}

module.exports = { readConfigText, MAX_CONFIG_BYTES }
