// The user-project test (issue 17, item 7): what a user does, end to end.
//  1. packs the packages: `npm run package -- --host-only` (dist/), or, while the
//     checkout has no `package` script, standin-pack.mjs from the built addon;
//  2. starts Verdaccio (this project's devDependency) on a free loopback port with its
//     own storage: nebula-native* are local only, everything else proxies npmjs;
//  3. publishes the tarballs to it with a throwaway user;
//  4. for each decorator style (fixture/standard, fixture/legacy) creates a project in
//     a temp folder, installs nebula-native, vitest 4 and typescript from that registry
//     with no Rust toolchain on PATH and npm's defaults, type-checks the service with
//     tsc, runs its two vitest files in `pool: 'threads'`, and `npx nebula --help`;
//  5. stops the registry whatever happens (its process group) and removes the temp folder.
// Run: `npm run test:user-project` (node __test__/user-project/run.mjs).
// Env: NEBULA_USER_PROJECT_KEEP=1 keeps the temp folder; NEBULA_USER_PROJECT_TARBALLS=<dir>
// publishes the tarballs already in <dir> instead of packing; NEBULA_USER_PROJECT_PACK_ARGS
// replaces `--host-only` as the arguments of `npm run package --`; NEBULA_USER_PROJECT_UPLINK
// is the registry Verdaccio proxies (default https://registry.npmjs.org/).
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hostPlatform, standinPack } from './standin-pack.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '../..')
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
// Where Verdaccio fetches everything but our packages (vitest, typescript, esbuild, …).
const UPLINK = process.env.NEBULA_USER_PROJECT_UPLINK ?? 'https://registry.npmjs.org/'
const VITEST = '^4' // the newest vitest major that runs on Node 20 (vitest 5 needs Node ≥ 22.12)
// Bounds: everything after packing, and each step (installs are the slow ones).
const RUN_LIMIT_MS = 10 * 60_000
const STEP_LIMIT_MS = 4 * 60_000

const started = Date.now()
// Children run in their own process groups (so a timeout ends all they started); these
// are stopped too if the run is interrupted.
const live = new Set()
const log = (msg) => console.log(`[user-project ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`)

/** Runs a command; resolves with its output, rejects (with the output) on a non-zero exit or timeout. */
function run(cmd, args, { cwd, env = process.env, limit = STEP_LIMIT_MS, quiet = false } = {}) {
  return new Promise((resolveRun, reject) => {
    log(`$ ${cmd} ${args.join(' ')}${cwd ? `   (in ${cwd})` : ''}`)
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    live.add(child)
    let out = ''
    const take = (chunk) => {
      out += chunk
      if (!quiet) process.stdout.write(chunk)
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL')
      reject(new Error(`${cmd} ${args.join(' ')}: no exit within ${limit / 1000} s\n${out}`))
    }, limit)
    child.on('error', (err) => {
      clearTimeout(timer)
      live.delete(child)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      if (code === 0) return resolveRun(out)
      // 139 = 128 + SIGSEGV, as a shell (npx) reports a child that crashed.
      const crash = signal === 'SIGSEGV' || code === 139 ? ' (segmentation fault: a native crash)' : ''
      reject(new Error(`${cmd} ${args.join(' ')}: exit ${code ?? signal}${crash}\n${quiet ? out : ''}`))
    })
  })
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal)
  } catch {
    // Already gone.
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolvePort(port))
    })
  })
}

// ------------------------------------------------------------------ 1. pack

async function pack(work) {
  const given = process.env.NEBULA_USER_PROJECT_TARBALLS
  let dir
  if (given) {
    dir = resolve(given)
  } else if (pkg.scripts?.package) {
    if (!pkg.exports?.['./vitest'])
      throw new Error('package.json "exports" has no "./vitest" entry (lib/vitest.js): the standard-decorator project imports nebula-native/vitest')
    // A release build of this machine's target: minutes on a small machine.
    const packArgs = (process.env.NEBULA_USER_PROJECT_PACK_ARGS ?? '--host-only').split(/\s+/).filter(Boolean)
    await run('npm', ['run', 'package', '--', ...packArgs], { cwd: repo, limit: 30 * 60_000 })
    dir = join(repo, 'dist')
  } else {
    dir = join(work, 'dist')
    log('no `package` script in package.json yet: packing with standin-pack.mjs')
    standinPack(dir)
  }
  const tarballs = readdirSync(dir)
    .filter((f) => f.startsWith(`${pkg.name}-`) && f.endsWith(`-${pkg.version}.tgz`))
    .map((f) => join(dir, f))
  const main = join(dir, `${pkg.name}-${pkg.version}.tgz`)
  const host = join(dir, `${pkg.name}-${hostPlatform()}-${pkg.version}.tgz`)
  for (const t of [main, host]) if (!tarballs.includes(t)) throw new Error(`pack: ${t} was not written`)
  for (const t of tarballs) log(`tarball ${t} (${(statSync(t).size / 1e6).toFixed(1)} MB)`)
  // Platform packages first: the main one names them.
  return [...tarballs.filter((t) => t !== main), main]
}

// ------------------------------------------------------------------ 2. registry

async function startRegistry(work) {
  const require = createRequire(join(repo, 'package.json'))
  const vpkgPath = require.resolve('verdaccio/package.json')
  const vpkg = require(vpkgPath)
  const bin = join(dirname(vpkgPath), typeof vpkg.bin === 'string' ? vpkg.bin : vpkg.bin.verdaccio)
  const dir = join(work, 'registry')
  mkdirSync(dir)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/`
  // Our packages never go to npmjs (no proxy); anything else is fetched from it once
  // and kept in this storage for the second project.
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      `storage: ${join(dir, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(dir, 'htpasswd')}`,
      'uplinks:',
      '  npmjs:',
      `    url: ${UPLINK}`,
      '    timeout: 60s',
      '    maxage: 30m', // the second project reuses what the first fetched
      'packages:',
      `  '${pkg.name}':`,
      '    access: $all',
      '    publish: $authenticated',
      `  '${pkg.name}-*':`,
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    proxy: npmjs',
      'max_body_size: 300mb',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  )
  log(`verdaccio ${vpkg.version} on ${url}`)
  const child = spawn(process.execPath, [bin, '--config', join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stopped with everything it started
  })
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  child.stderr.on('data', (c) => (out += c))
  const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)))
  const registry = { url, child, exited, output: () => out }
  // Ready when /-/ping answers; give up if it exits or takes more than 30 s.
  const deadline = Date.now() + 30_000
  for (;;) {
    const gone = await Promise.race([exited, new Promise((r) => setTimeout(r, 200, null))])
    if (gone !== null) throw new Error(`verdaccio exited (${gone}) before it was ready:\n${out}`)
    const ok = await fetch(`${url}-/ping`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return registry
    if (Date.now() > deadline) {
      await stopRegistry(registry)
      throw new Error(`verdaccio did not answer /-/ping within 30 s:\n${out}`)
    }
  }
}

/** Stops Verdaccio and all it started (its process group); safe to call more than once. */
function stopRegistry(registry) {
  if (!registry) return Promise.resolve()
  registry.stopping ??= (async () => {
    if (registry.child.exitCode === null && registry.child.signalCode === null) {
      killGroup(registry.child, 'SIGTERM')
      const t = setTimeout(() => killGroup(registry.child, 'SIGKILL'), 5_000)
      await registry.exited
      clearTimeout(t)
    }
    log('verdaccio stopped')
  })()
  return registry.stopping
}

// ------------------------------------------------------------------ 3. publish

async function publish(registry, work, tarballs) {
  // A throwaway user: Verdaccio's htpasswd creates it on first sign-up and answers a token.
  const host = registry.url.replace(/^http:/, '')
  const name = `ci-${process.pid}`
  const res = await fetch(`${registry.url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `pw-${Date.now()}-${Math.random()}` }),
  })
  const body = await res.json().catch(() => ({}))
  if (!res.ok || !body.token) throw new Error(`verdaccio refused the throwaway user: ${res.status} ${JSON.stringify(body)}`)
  const npmrc = join(work, 'npmrc')
  writeFileSync(npmrc, `registry=${registry.url}\n${host}:_authToken=${body.token}\n`)
  for (const t of tarballs) {
    await run('npm', ['publish', t, '--registry', registry.url, '--userconfig', npmrc, '--tag', 'latest', '--ignore-scripts', '--loglevel=warn'], {
      cwd: work,
    })
  }
  return npmrc
}

// ------------------------------------------------------------------ 4. the user's project

/** The user's environment: PATH without cargo/rustc, no npm_* leaking from `npm run`, our registry and cache. */
function userEnv(work, npmrc, registry) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || /^(CARGO|RUSTUP|RUSTC)/.test(k) || k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue
    env[k] = v
  }
  const hasRust = (d) => ['cargo', 'rustc', 'rustup'].some((b) => existsSync(join(d, b)))
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d && !hasRust(d))
  // node and npm must stay reachable even if they lived next to cargo.
  const nodeDir = dirname(process.execPath)
  if (!dirs.includes(nodeDir)) dirs.unshift(nodeDir)
  if (hasRust(nodeDir)) throw new Error(`node's own folder ${nodeDir} holds a Rust toolchain: cannot hide it`)
  env.PATH = dirs.join(delimiter)
  env.npm_config_userconfig = npmrc
  env.npm_config_registry = registry.url
  env.npm_config_cache = join(work, 'npm-cache')
  env.npm_config_update_notifier = 'false'
  env.npm_config_fund = 'false'
  env.npm_config_audit = 'false'
  env.NO_COLOR = '1'
  env.CI = '1'
  return env
}

async function userProject(work, env, variant) {
  const dir = join(work, `project-${variant}`)
  mkdirSync(dir)
  cpSync(join(here, 'fixture', 'common'), dir, { recursive: true })
  cpSync(join(here, 'fixture', variant), dir, { recursive: true })
  const opts = { cwd: dir, env }

  // No Rust toolchain on PATH, as a user's machine.
  const which = await run('sh', ['-c', 'command -v cargo rustc rustup || true'], { ...opts, quiet: true })
  if (which.trim()) throw new Error(`a Rust toolchain is still on PATH: ${which}`)

  // As a user: the package, then the dev tools (the esbuild the decorators() helper uses
  // only for standard decorators).
  await run('npm', ['install', pkg.name], opts)
  const devDeps = [`vitest@${VITEST}`, 'typescript', '@types/node', ...(variant === 'standard' ? ['esbuild'] : [])]
  await run('npm', ['install', '--save-dev', ...devDeps], opts).catch((err) => {
    throw new Error(`${err.message}\n(these come through Verdaccio from ${UPLINK}: is it reachable? NEBULA_USER_PROJECT_UPLINK sets another)`)
  })

  // The main package carries no binary; the host's platform package does.
  const installed = join(dir, 'node_modules', pkg.name)
  const binaries = readdirSync(installed, { recursive: true }).filter((f) => String(f).endsWith('.node'))
  if (binaries.length) throw new Error(`${pkg.name} was installed with binaries: ${binaries.join(', ')}`)
  const platformPkg = join(dir, 'node_modules', `${pkg.name}-${hostPlatform()}`)
  if (!existsSync(platformPkg)) throw new Error(`${pkg.name}-${hostPlatform()} was not installed`)

  await run('npx', ['tsc', '-p', 'tsconfig.json'], opts)
  const resultsFile = join(dir, 'vitest-results.json')
  await run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`], {
    ...opts,
    env: { ...env, EXPECT_DECORATORS: variant === 'standard' ? 'standard' : 'experimental' },
  })
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'))
  const files = results.testResults.map((r) => `${r.name.slice(dir.length + 1)}: ${r.status}`)
  if (results.testResults.length !== 2 || results.testResults.some((r) => r.status !== 'passed') || results.numPassedTests < 8) {
    throw new Error(`vitest: expected 2 passing files, 8+ tests; got ${JSON.stringify(files)}, ${results.numPassedTests} passed`)
  }
  log(`${variant}: vitest passed ${results.numPassedTests} tests in ${files.join(', ')}`)

  const help = await run('npx', ['nebula', '--help'], { ...opts, quiet: true })
  if (!/Usage: nebula/.test(help)) throw new Error(`npx nebula --help printed no usage:\n${help}`)
  log(`${variant}: npx nebula --help prints the usage`)
}

// ------------------------------------------------------------------ main

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'nebula-user-project-'))
  let registry
  let overall
  const onSignal = async (signal) => {
    log(`${signal}: stopping`)
    for (const child of live) killGroup(child, 'SIGKILL')
    await stopRegistry(registry)
    cleanUp()
    process.exit(1)
  }
  const cleanUp = () => {
    if (process.env.NEBULA_USER_PROJECT_KEEP) log(`kept ${work}`)
    else rmSync(work, { recursive: true, force: true })
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    log(`work folder ${work}`)
    // Packing may build in release (its own limit); the rest is bounded by RUN_LIMIT_MS.
    const tarballs = await pack(work)
    overall = setTimeout(async () => {
      log(`no result within ${RUN_LIMIT_MS / 60_000} min of packing: stopping`)
      for (const child of live) killGroup(child, 'SIGKILL')
      await stopRegistry(registry)
      cleanUp()
      process.exit(1)
    }, RUN_LIMIT_MS)
    registry = await startRegistry(work)
    const npmrc = await publish(registry, work, tarballs)
    const env = userEnv(work, npmrc, registry)
    for (const variant of ['standard', 'legacy']) await userProject(work, env, variant)
    log('PASS: installed from the registry without Rust, type-checked, vitest (threads, 2 files) passed with standard and experimental decorators')
  } finally {
    clearTimeout(overall)
    await stopRegistry(registry)
    cleanUp()
  }
}

main().catch((err) => {
  console.error(`[user-project] FAIL: ${err?.stack ? err.stack : err}`)
  process.exitCode = 1
})
