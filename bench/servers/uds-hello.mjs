// The gateway scenario's worker: bare node:http answering GET /hello with the
// hello body. On the Unix socket in NEBULA_SOCKET (what ServicesPlugin gives
// its workers; nginx is pointed at the same kind of socket), else on
// 127.0.0.1:PORT (the worker hit directly by wrk, which speaks only TCP).
import http from 'node:http'
import { HELLO, PORT } from './common.mjs'

const body = JSON.stringify(HELLO)
const server = http.createServer((req, res) => {
  if (req.url === '/hello') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  } else {
    res.writeHead(404)
    res.end()
  }
})
// Idle upstream keep-alive connections (nginx's pool) are not closed under it.
server.keepAliveTimeout = 60_000
const socket = process.env.NEBULA_SOCKET
if (socket) server.listen(socket, () => console.log(`ready ${socket}`))
else server.listen(PORT, '127.0.0.1', () => console.log(`ready ${server.address().port}`))
process.on('SIGTERM', () => process.exit(0))
