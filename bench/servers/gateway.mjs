// The gateway scenario's nebula contender: an engine with only ServicesPlugin,
// one instance of servers/uds-hello.mjs on a Unix socket, route /hello
// proxied in Rust. Prints `ready <port> <worker pid>` once the worker is ready.
// RUNTIME_DIR: where the worker's socket goes (bench/gateway.mjs gives a
// temporary folder it removes; else one is made here and removed on SIGTERM).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import nebula from '../../index.js'
import { PORT } from './common.mjs'
const { Microservice, ServicesPlugin } = nebula

const here = dirname(fileURLToPath(import.meta.url))
const own = !process.env.RUNTIME_DIR
const runtimeDir = process.env.RUNTIME_DIR || mkdtempSync(join(tmpdir(), 'bench-gateway-'))
const services = new ServicesPlugin({
  runtimeDir,
  services: [{ name: 'hello', command: [process.execPath, join(here, 'uds-hello.mjs')], routes: ['/hello'] }],
})
const engine = new Microservice({ name: 'bench-gateway', version: '1.0.0', hostname: '127.0.0.1', disableDefaultPlugins: true }).plugin(services)

async function shutdown(code) {
  try {
    await engine.stop()
  } finally {
    if (own) rmSync(runtimeDir, { recursive: true, force: true })
    process.exit(code)
  }
}
process.once('SIGTERM', () => shutdown(0))
process.once('SIGINT', () => shutdown(0))

const port = await engine.start(PORT)
const deadline = Date.now() + 15_000
for (;;) {
  const service = services.status().services[0]
  if (service?.ready >= 1) {
    console.log(`ready ${port} ${service.instances[0].pid}`)
    break
  }
  if (Date.now() > deadline) {
    console.error(`the worker is not ready within 15 s: ${JSON.stringify(services.status())}`)
    await shutdown(1)
  }
  await new Promise((r) => setTimeout(r, 50))
}
