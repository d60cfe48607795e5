// nebula-native's script VM for the `jsvm` scenario: the hello route as a hook
// route (bench/hooks/hello.pb.js), answered by a pool of POOL_SIZE QuickJS
// runtimes in Rust; Node's JavaScript is never called for it.
//
// GEN_COST=K: instead of serving, measure the cost of a pool generation and
// print one JSON line `gencost {...}`: the start (first generation + listen),
// VmRSS once settled, then K timed `engine.jsvm.reload()`s (wall and process
// CPU time each; every reload builds a new generation of POOL_SIZE runtimes
// from the files and retires the old one).
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import nebula from '../../index.js'
import { PORT, ready } from './common.mjs'

const { Microservice, JsvmPlugin } = nebula
const hooksDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'hooks')
const poolSize = Number(process.env.POOL_SIZE ?? 1)
const genCost = Number(process.env.GEN_COST ?? 0)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const vmRssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const engine = new Microservice({ name: 'bench-jsvm', version: '1.0.0', hostname: '127.0.0.1' }).plugin(
  new JsvmPlugin({ hooksDir, poolSize }),
)

if (!genCost) {
  ready(await engine.start(PORT))
} else {
  const rssBefore = vmRssMiB()
  const t0 = performance.now()
  const c0 = cpuMs()
  const port = await engine.start(PORT)
  const start = { ms: performance.now() - t0, cpuMs: cpuMs() - c0 }
  await sleep(500)
  const rssStarted = vmRssMiB()
  const reloads = []
  for (let i = 0; i < genCost; i++) {
    const w = performance.now()
    const c = cpuMs()
    await engine.jsvm.reload()
    reloads.push({ ms: performance.now() - w, cpuMs: cpuMs() - c })
    await sleep(100) // the old generation's workers exit
  }
  await sleep(500)
  const rssAfter = vmRssMiB()
  const stats = engine.jsvm.stats()
  console.log(
    'gencost ' +
      JSON.stringify({ poolSize, port, rssBefore, start, rssStarted, reloads, rssAfter, generation: stats.generation, workers: stats.workers }),
  )
  await engine.stop()
  process.exit(0)
}
