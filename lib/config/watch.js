'use strict'

// Watching the config file for changes of its content, however they are made:
//   - edited in place, or saved as a new file renamed over the old one (many
//     editors): seen by a watch on the file's folder;
//   - a symbolic link swapped somewhere on the way to the file (a Kubernetes
//     ConfigMap volume renames its `..data` link; `current -> releases/v2`
//     deployments): seen by a watch on each folder holding such a link, and
//     on the folder the file really is in.
// Any event in those folders (debounced) reads the file and compares a hash
// of its content with the last one seen: only a different content (not a
// touch, not another file of the folder) calls onChange(). The folders are
// worked out again at each event, so a swap that moves the file elsewhere is
// followed.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { readConfigText } = require('./read')

/**
 * The content's hash, or undefined when it cannot be read (mid-swap, deleted,
 * replaced by a FIFO or a device: read as loading reads it, never blocking the
 * serving process).
 */
function digest(file) {
  try {
    return crypto
      .createHash('sha256')
      .update(/** @type {string} */ (readConfigText(file)))
      .digest('hex')
  } catch {
    return undefined
  }
}

/** The folders holding a symbolic link met while resolving `file` (at most 40 links, as the kernel). */
function linkFolders(file) {
  const out = new Set()
  let pending = path.resolve(file)
  for (let hops = 0; hops < 40; hops++) {
    const parts = pending.split(path.sep).filter(Boolean)
    let cur = path.parse(pending).root
    let next
    for (let i = 0; i < parts.length && next === undefined; i++) {
      const p = path.join(cur, parts[i])
      let st
      try {
        st = fs.lstatSync(p)
      } catch {
        return out
      }
      if (st.isSymbolicLink()) {
        out.add(cur)
        let target
        try {
          target = fs.readlinkSync(p)
        } catch {
          return out
        }
        next = path.join(path.resolve(cur, target), ...parts.slice(i + 1))
      } else {
        cur = p
      }
    }
    if (next === undefined) return out
    pending = next
  }
  return out
}

/** Every folder whose events may mean the file's content changed. */
function foldersOf(file) {
  const folders = new Set([path.dirname(file), ...linkFolders(file)])
  try {
    folders.add(path.dirname(fs.realpathSync(file)))
  } catch {
    // missing right now: the other folders still tell when it is back
  }
  return folders
}

/**
 * Calls `onChange()` once the file's content differs from the last seen, after
 * the folders were quiet for `debounceMs`. Returns `{ close() }`. Throws when
 * the file's own folder cannot be watched (ENOSPC, EMFILE…); the other folders
 * are watched when they can be. The watch never keeps the process alive.
 */
/**
 * @param {string} file
 * @param {() => void} onChange
 * @param {{ debounceMs?: number, onError?: (err: Error) => void }} [options]
 */
function watchFile(file, onChange, { debounceMs = 200, onError = () => {} } = {}) {
  const home = path.dirname(file)
  /** @type {Map<string, import('node:fs').FSWatcher & { real?: string }>} */
  const watchers = new Map()
  let last = digest(file)
  let timer
  let closed = false

  const check = () => {
    timer = undefined
    if (closed) return
    try {
      refresh()
    } catch (err) {
      onError(err)
      close()
      return
    }
    const now = digest(file)
    // Unreadable (a swap in progress, a deleted file): wait for the next event.
    if (now === undefined || now === last) return
    last = now
    onChange()
  }
  const onEvent = () => {
    if (closed) return
    clearTimeout(timer)
    timer = setTimeout(check, debounceMs)
    timer.unref()
  }
  const realOf = (folder) => {
    try {
      return fs.realpathSync(folder)
    } catch {
      return undefined
    }
  }
  const watch = (folder) => {
    /** @type {import('node:fs').FSWatcher & { real?: string }} */
    const watcher = fs.watch(folder, { persistent: false }, onEvent)
    // A watch follows the folder it was given, not a path: a folder reached through a swapped link is watched again.
    watcher.real = realOf(folder)
    watcher.on('error', (err) => {
      watcher.close()
      if (watchers.get(folder) === watcher) watchers.delete(folder)
      if (closed) return
      // Watched again if it can be; losing the file's own folder ends the watch.
      try {
        refresh()
      } catch {
        onError(err)
        close()
      }
    })
    watchers.set(folder, watcher)
  }
  /** Watches the folders the file now depends on, and only those. */
  function refresh() {
    const wanted = foldersOf(file)
    for (const [folder, watcher] of watchers) {
      if (!wanted.has(folder) || watcher.real !== realOf(folder)) {
        watcher.close()
        watchers.delete(folder)
      }
    }
    for (const folder of wanted) {
      if (watchers.has(folder)) continue
      try {
        watch(folder)
      } catch (err) {
        // The file's own folder must be watched (the caller is told); the others when they can.
        if (folder === home) throw err
      }
    }
  }
  function close() {
    closed = true
    clearTimeout(timer)
    for (const watcher of watchers.values()) watcher.close()
    watchers.clear()
  }

  watch(home)
  try {
    refresh()
  } catch (err) {
    close()
    throw err
  }
  return { close }
}

module.exports = { watchFile, foldersOf }
