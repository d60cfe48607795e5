// The Node service behind the gateway: node:http listening on the Unix
// socket the engine gives in NEBULA_SOCKET. The gateway strips /api/node.
const http = require('node:http')

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ service: 'node', pid: process.pid, path: req.url }))
})
server.listen(process.env.NEBULA_SOCKET, () => console.log(`node worker ${process.pid} on ${process.env.NEBULA_SOCKET}`))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
