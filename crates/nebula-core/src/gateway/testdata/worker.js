// Test worker: HTTP on the Unix socket the engine gives in NEBULA_SOCKET.
// GET /health -> 200, anything else -> the worker's pid.
const http = require('node:http');

const path = process.env.NEBULA_SOCKET;
const server = http.createServer((req, res) => {
  res.end(req.url === '/health' ? 'ok' : String(process.pid));
});
server.listen(path, () => console.log(`node worker ${process.pid} listening on ${path}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
