'use strict'

// The lock of a runtime folder: whoever holds it is the service the folder
// describes. It is a listening Unix socket, so the kernel releases it when its
// process dies, however (SIGKILL included): it is never stale, and a pid that
// was reused (a restarted container whose service is pid 1 again) proves
// nothing. Node has no flock(); a socket needs no helper process.
//
//   Linux: a socket in the abstract namespace (no file), named after the
//     folder's device and inode: bind() is atomic (EADDRINUSE: held), and a
//     connect() refused means nobody holds it.
//   Elsewhere: <dir>/lock.sock in the 0700 runtime folder; a connect() refused
//     means its holder died: the file is removed and bound again. (Two starts
//     racing through that takeover within the same instant could both pass.)
//
// The holder answers each connection with one JSON line: its info() (pid,
// start time, state: "starting" | "running" | "stopping", …).

const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')

const ABSTRACT = process.platform === 'linux'

/** Where the lock of `dir` lives; undefined when the folder does not exist. */
function lockAddress(dir) {
  let st
  try {
    st = fs.statSync(dir)
  } catch {
    return undefined
  }
  if (!ABSTRACT) return path.join(dir, 'lock.sock')
  const id = crypto.createHash('sha256').update(`nebula-runtime-dir:${st.dev}:${st.ino}`).digest('hex').slice(0, 40)
  return `\0nebula-lock-${id}`
}

function listen(address, info) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {})
      let line
      try {
        line = `${JSON.stringify(info())}\n`
      } catch {
        line = '{}\n'
      }
      socket.end(line)
    })
    server.once('error', reject)
    server.listen(address, () => {
      server.off('error', reject)
      server.on('error', () => {})
      // Held for the life of the process, never the reason it stays up.
      server.unref()
      resolve(server)
    })
  })
}

/**
 * Asks the holder of `dir`'s lock: `{ held: false }`, or `{ held: true, info? }`
 * (`info` absent when the holder accepts but does not answer within `timeoutMs`:
 * alive, its event loop busy).
 */
function queryLock(dir, timeoutMs = 2000) {
  const address = lockAddress(dir)
  if (address === undefined) return Promise.resolve({ held: false })
  return new Promise((resolve) => {
    const socket = net.connect(address)
    let connected = false
    let text = ''
    const timer = setTimeout(() => finish(), timeoutMs)
    function finish(err) {
      clearTimeout(timer)
      socket.destroy()
      if (!connected) {
        // ECONNREFUSED, ENOENT: nobody holds it. Anything else (EACCES…): someone does.
        return resolve({ held: !(err && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT')) })
      }
      let info
      try {
        info = JSON.parse(text)
      } catch {
        info = undefined
      }
      resolve(info && typeof info === 'object' && Number.isSafeInteger(info.pid) ? { held: true, info } : { held: true })
    }
    socket.setEncoding('utf8')
    socket.on('connect', () => (connected = true))
    socket.on('data', (d) => (text += d))
    socket.on('end', () => finish())
    socket.on('error', (err) => finish(err))
  })
}

/**
 * Takes `dir`'s lock: `{ lock: { close() } }`, or `{ holder }` (what queryLock
 * says of whoever holds it). `info()` is what the lock answers while held.
 */
async function acquireLock(dir, info) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const address = lockAddress(dir)
    if (address === undefined) throw new Error(`${dir}: no such folder`)
    try {
      const server = await listen(address, info)
      let inode
      if (!ABSTRACT) inode = fs.statSync(address).ino
      return {
        lock: {
          address,
          close() {
            server.close()
            if (!ABSTRACT) removeIfSame(address, inode)
          },
          /** Whether a file that must be removed at exit is the lock's own (macOS…). */
          inode,
        },
      }
    } catch (err) {
      if (err.code !== 'EADDRINUSE') throw err
    }
    const holder = await queryLock(dir)
    if (holder.held) return { holder }
    // Released meanwhile (abstract), or a lock.sock left by a process that died: bound again.
    if (!ABSTRACT) fs.rmSync(address, { force: true })
  }
  return { holder: { held: true } }
}

function removeIfSame(file, inode) {
  try {
    if (fs.lstatSync(file).ino === inode) fs.rmSync(file, { force: true })
  } catch {
    // gone already
  }
}

module.exports = { acquireLock, queryLock, lockAddress, ABSTRACT }
