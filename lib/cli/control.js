'use strict'

// The control socket: a small HTTP server on a Unix socket in the runtime
// folder (mode 0600, in a 0700 folder), answering
//   GET  /status  → the status JSON (pid, port, uptime, services, …)
//   POST /reload  → applies the config file now; the reload's outcome
// and the client the other commands use to ask it.

const fs = require('node:fs')
const http = require('node:http')

/** sun_path holds 108 bytes on Linux, 104 on macOS (with the terminating NUL). */
const MAX_SOCKET_PATH = 103

function checkSocketPath(socketPath) {
  const n = Buffer.byteLength(socketPath)
  if (n > MAX_SOCKET_PATH) {
    throw new Error(
      `the control socket path ${socketPath} is too long for a Unix socket (${n} bytes, at most ${MAX_SOCKET_PATH}): use a shorter runtimeDir (or NEBULA_RUNTIME_DIR)`,
    )
  }
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/**
 * Listens on `socketPath`; `handlers.status()` returns the status object,
 * `handlers.reload()` a promise of the reload's outcome.
 */
async function startControlServer(socketPath, handlers) {
  checkSocketPath(socketPath)
  const server = http.createServer((req, res) => {
    const route = `${req.method} ${req.url}`
    Promise.resolve()
      .then(() => {
        if (route === 'GET /status') return handlers.status()
        if (route === 'POST /reload') return handlers.reload()
        throw Object.assign(new Error(`no ${route} here (GET /status, POST /reload)`), { status: 404 })
      })
      .then(
        (value) => sendJson(res, 200, value),
        (err) => sendJson(res, err.status || 500, { error: err.message }),
      )
  })
  await new Promise((/** @type {(v?: undefined) => void} */ resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => {
      server.off('error', reject)
      resolve()
    })
  })
  fs.chmodSync(socketPath, 0o600)
  // Never the reason the process stays up.
  server.unref()
  return server
}

/** Asks the control socket: resolves to the parsed JSON answer; rejects when nobody answers. */
function askControl(socketPath, method, path, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => {
        try {
          const value = JSON.parse(body)
          if (res.statusCode !== 200) reject(new Error(value.error || `control socket answered ${res.statusCode}`))
          else resolve(value)
        } catch {
          reject(new Error(`control socket answered something else than JSON (${res.statusCode})`))
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error(`control socket did not answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

module.exports = { startControlServer, askControl, checkSocketPath }
