// Runs the hub load generator (bench/hub_load.rs) once: its JSON report.
import { spawn } from 'node:child_process'
import { once } from 'node:events'

export async function runHubLoad(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const [code] = await once(child, 'exit')
  const line = out.trim().split('\n').pop()
  if (code !== 0 || !line?.startsWith('{')) throw new Error(`hub_load failed (${code}): ${err.trim() || out.trim()}`)
  // The server closes the last run's sockets.
  await new Promise((r) => setTimeout(r, 500))
  return JSON.parse(line)
}
