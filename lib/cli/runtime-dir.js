'use strict'

// The runtime folder must be private: a real folder (not a symbolic link) of
// the user running nebula, with no permission for group or others. nebula
// creates it (mode 0700) when it is missing. An existing folder is used as it
// is or refused, never chmod-ed: a runtimeDir pointing at a shared folder
// (/tmp, mode 1777) must not take its sticky bit and its other users' access
// away. `nebula start` and `nebula check` ask the same questions here, so
// check refuses what start would.

const fs = require('node:fs')
const path = require('node:path')
const { checkSocketPath } = require('./control')

const { O_RDONLY, O_DIRECTORY = 0, O_NOFOLLOW = 0 } = fs.constants

const octal = (mode) => (mode & 0o7777).toString(8).padStart(4, '0')

/**
 * Why `dir` cannot be created, or undefined: its nearest existing ancestor
 * must be a folder this user may create in. Nothing is created.
 */
function creationProblem(dir) {
  let p = path.dirname(dir)
  for (;;) {
    let st
    try {
      st = fs.statSync(p)
    } catch (err) {
      if (err.code !== 'ENOENT' || path.dirname(p) === p) return `cannot create ${dir}: ${err.message}`
      p = path.dirname(p)
      continue
    }
    if (!st.isDirectory()) return `cannot create ${dir}: ${p} is not a folder`
    try {
      fs.accessSync(p, fs.constants.W_OK | fs.constants.X_OK)
    } catch (err) {
      return `cannot create ${dir}: ${p} is not writable (${err.code || err.message})`
    }
    return undefined
  }
}

/**
 * Checks the existing `dir` through one descriptor (what is checked is what
 * is used). `ours`: created by this process a moment ago, so its mode may be
 * fixed (a default ACL or a setgid parent may have added bits); any other
 * folder with group or other permissions is refused. Throws an Error saying
 * what is wrong.
 */
function checkExisting(dir, ours) {
  const lst = fs.lstatSync(dir)
  if (lst.isSymbolicLink()) throw new Error(`${dir} is a symbolic link: it must be a real folder`)
  if (!lst.isDirectory()) throw new Error(`${dir} is not a folder`)
  const fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
  try {
    const st = fs.fstatSync(fd)
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined
    if (st.ino !== lst.ino || st.dev !== lst.dev) throw new Error(`${dir} was replaced while it was checked`)
    if (uid !== undefined && st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not to this user (uid ${uid})`)
    if ((st.mode & 0o077) === 0) return
    if (ours) return fs.fchmodSync(fd, 0o700)
    throw new Error(
      `${dir} is open to other users (mode ${octal(st.mode)}): nebula keeps its control socket and log in a private folder ` +
        `and does not change the permissions of a folder it did not create; use a folder of its own ` +
        `(e.g. ${path.join(dir, 'nebula')}, which it creates), or chmod 700 it`,
    )
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Creates `dir` (mode 0700) when missing (unless `create` is false) and checks
 * it: a real folder (not a symbolic link) owned by this user, private. Throws
 * an Error saying what is wrong.
 */
function ensureOwnedDir(dir, { create = true } = {}) {
  let made
  if (create) {
    const problem = creationProblem(dir)
    if (problem && !fs.existsSync(dir)) throw new Error(problem)
    made = fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  }
  checkExisting(dir, made !== undefined)
}

/**
 * Why the runtime folder of `paths` (runtimePaths()) cannot be used, as one
 * line, or undefined. `create`: make it when missing (`nebula start`);
 * otherwise nothing is touched (`nebula check`: a missing folder is fine when
 * it can be created).
 */
function runtimeFolderProblem(paths, { create }) {
  try {
    // No file system call takes it (Node throws a TypeError about its argument).
    if (paths.dir.includes('\0')) throw new Error(`${JSON.stringify(paths.dir)} contains a NUL character`)
    if (create) ensureOwnedDir(paths.dir)
    else if (fs.existsSync(paths.dir) || isLink(paths.dir)) checkExisting(paths.dir, false)
    else {
      const problem = creationProblem(paths.dir)
      if (problem) throw new Error(problem)
    }
    checkSocketPath(paths.socket)
  } catch (e) {
    return `nebula: cannot use the runtime folder: ${e.message}`
  }
  return undefined
}

function isLink(p) {
  try {
    return fs.lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}

module.exports = { ensureOwnedDir, runtimeFolderProblem }
