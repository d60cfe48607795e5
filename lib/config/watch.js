'use strict'

// Watching the config file: fs.watch on its folder (editors that save by
// writing a new file and renaming it over the old one replace the inode a
// watch on the file itself would follow), only events naming the file (or
// naming nothing, on platforms that do not say), debounced.

const fs = require('node:fs')
const path = require('node:path')

/**
 * Calls `onChange()` once the file has been quiet for `debounceMs` after a
 * change. Returns `{ close() }`. The watch never keeps the process alive.
 */
function watchFile(file, onChange, { debounceMs = 200, onError = () => {} } = {}) {
  const base = path.basename(file)
  let timer
  const fire = () => {
    timer = undefined
    onChange()
  }
  const watcher = fs.watch(path.dirname(file), { persistent: false }, (_event, name) => {
    if (name && name.toString() !== base) return
    clearTimeout(timer)
    timer = setTimeout(fire, debounceMs)
    timer.unref()
  })
  watcher.on('error', (err) => {
    onError(err)
    close()
  })
  function close() {
    clearTimeout(timer)
    watcher.close()
  }
  return { close }
}

module.exports = { watchFile }
