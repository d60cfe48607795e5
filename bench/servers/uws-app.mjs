// What both uWebSockets.js servers (uws.mjs, hub-uws.mjs) share: loading the
// package, and serving an app on 127.0.0.1:PORT with a 404 for the rest.
import { createRequire } from 'node:module'
import { PORT, ready } from './common.mjs'

const require = createRequire(import.meta.url)

/** The uWS.js module; exits with code 3 and the reason when it cannot load here. */
export function loadUws() {
  try {
    return require('uwebsockets')
  } catch (err) {
    // run.mjs reads this line and skips uWS.js with the reason.
    console.error(`uWS.js cannot load here: ${String(err.message).split('\n').filter(Boolean).pop()}`)
    process.exit(3)
  }
}

/** Answers 404 to every other request, listens, and says `ready <port>`. */
export function serve(uWS, app) {
  app.any('/*', (res) => {
    res.cork(() => res.writeStatus('404 Not Found').end())
  })
  app.listen('127.0.0.1', PORT, (socket) => {
    if (!socket) {
      console.error(`uWS.js could not listen on 127.0.0.1:${PORT}`)
      process.exit(1)
    }
    ready(uWS.us_socket_local_port(socket))
  })
}
