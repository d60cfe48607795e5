import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { configDefaults, defineConfig } from 'vitest/config'

// The engine's expected warnings (tests provoke them) would bury the report.
// Set here, in the runner's own process, and not only by `test.env`: in
// worker threads `process.env` is a per-thread copy the native side never
// reads, so only the process environment reaches the addon's logger.
process.env.NEBULA_LOG ??= 'off'

// Gateway workers' sockets go to $XDG_RUNTIME_DIR/nebula by default, named
// after the service: the two projects run side by side and would take each
// other's sockets (examples/gateway), and so would other checkouts' runs.
// One folder per project and run; the threads project's only reaches the
// addon through the runner's own environment (see above).
// (Vitest evaluates this file more than once in its process: one folder for all.)
const ROOT = Symbol.for('nebula.vitest.runtimeRoot')
const runtimeRoot = (globalThis[ROOT] ??= (() => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-vitest-'))
  process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }))
  return root
})())
const runtimeDir = (name) => {
  const dir = path.join(runtimeRoot, name)
  fs.mkdirSync(dir, { mode: 0o700, recursive: true })
  return dir
}
process.env.XDG_RUNTIME_DIR = runtimeDir('threads')

export default defineConfig({
  test: {
    include: ['__test__/**/*.test.{ts,mts,js,mjs,cjs}'],
    env: { NEBULA_LOG: process.env.NEBULA_LOG },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // The suite runs twice, once per pool: users run theirs in either, and the
    // addon must hold in both (one process per test file, or one worker thread
    // per file in a shared process, loading and dropping the addon in turn and
    // at once). `npx vitest run --project forks` runs one of them. One after
    // the other (groupOrder): side by side they doubled the load on a small
    // machine, and timing-sensitive tests (schedules, timeouts) felt it.
    projects: [
      {
        extends: true,
        test: {
          name: 'forks',
          pool: 'forks',
          sequence: { groupOrder: 0 },
          // Each HTTP mode gets one full run: loop (HTTP on Node's event loop,
          // the default on a small machine) here, threads in the other project.
          env: { XDG_RUNTIME_DIR: runtimeDir('forks'), NEBULA_HTTP_MODE: 'loop' },
        },
      },
      {
        extends: true,
        test: {
          name: 'threads',
          pool: 'threads',
          sequence: { groupOrder: 1 },
          env: { NEBULA_HTTP_MODE: 'threads' },
          // Whole-process tests gain nothing from a second run: the user's
          // project test installs and runs its own vitest suite (in threads)
          // in a new project, and workers.test.ts drives worker threads from
          // Node processes of its own.
          exclude: [...configDefaults.exclude, '__test__/user-project*', '__test__/user-project*/**', '__test__/workers.test.ts'],
        },
      },
    ],
  },
})
