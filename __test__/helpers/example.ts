// Starts an example the way its header says (tsx, PORT=0) and resolves once it prints its address.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * Runs `examples/<name>/main.ts`; `listening` matches its "listening" line with the port as group 1.
 * `exited` resolves to [code, signal] when it ends; it rejects `port` if it ends before listening.
 */
export function startExample(name: string, listening: RegExp, env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), `examples/${name}/main.ts`], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit')
  let out = ''
  const port = new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d
      const m = listening.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`examples/${name} exited with ${code} before listening`)))
  })
  return { child, port, exited }
}
