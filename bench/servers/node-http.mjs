import http from 'node:http'
import { HELLO, PORT, ready } from './common.mjs'

const body = JSON.stringify(HELLO)
const server = http.createServer((req, res) => {
  if (req.url === '/') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  } else {
    res.writeHead(404)
    res.end()
  }
})
server.listen(PORT, '127.0.0.1', () => ready(server.address().port))
