#!/usr/bin/env node
// npm run package [-- --host-only] [-- --skip-build] [-- --targets linux-x64-gnu,linux-arm64-gnu]
//
// Builds the native addon in release for every target this machine can build, puts each
// .node into its platform package (npm/<key>/), checks each binary (`file`, and for glibc
// builds the newest glibc symbol version it needs), loads the one for this machine, and
// writes into dist/ the tarball of the main package and of every platform package built:
//   dist/nebula-native-<version>.tgz, dist/nebula-native-<key>-<version>.tgz
//
//   --host-only   build only this machine's target, with the plain cargo toolchain (for CI:
//                 one build, no zig). Same as NEBULA_PACKAGE_HOST_ONLY=1.
//   --skip-build  pack the .node files already in npm/<key>/ (the release workflow puts its
//                 artifacts there).
//   --targets a,b only these platform keys.
//   --rebuild     with --host-only, build even when the checkout's own release build
//                 (`npm run build`, which `npm install` runs) is newer than every source.
//
// Which targets a Linux host builds: its own with cargo, and with cargo-zigbuild + zig
// (`pip install cargo-zigbuild ziglang`, as napi-rs cross-builds) all four Linux targets,
// the glibc ones pinned to glibc 2.17. The darwin targets build on macOS (the release workflow).
// Nothing here runs at a user's `npm install`: the tarballs carry no install scripts.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { TARGETS, GLIBC_FLOOR } from './targets.mjs'
import { packMain } from './pack-main.mjs'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const { currentMachine, platformKey } = require('../lib/native-loader.js')

const args = process.argv.slice(2)
const hostOnly = args.includes('--host-only') || process.env.NEBULA_PACKAGE_HOST_ONLY === '1'
const skipBuild = args.includes('--skip-build')
const rebuild = args.includes('--rebuild')
const targetsArg = args.find((a) => a.startsWith('--targets'))
const onlyKeys = targetsArg ? (targetsArg.split('=')[1] ?? args[args.indexOf(targetsArg) + 1] ?? '').split(',').filter(Boolean) : null
for (const a of args) {
  if (a.startsWith('--') && !['--host-only', '--skip-build', '--rebuild'].includes(a) && !a.startsWith('--targets')) {
    fail(`unknown option ${a} (options: --host-only, --skip-build, --targets=a,b)`)
  }
}

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const { version } = pkg
const hostKey = platformKey(currentMachine())
const dist = path.join(root, 'dist')

function fail(msg) {
  console.error(`package: ${msg}`)
  process.exit(1)
}
function log(msg) {
  console.log(`package: ${msg}`)
}
function run(cmd, argv, opts = {}) {
  log(`$ ${cmd} ${argv.join(' ')}`)
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts })
  if (r.error) fail(`${cmd}: ${r.error.message}`)
  if (r.status !== 0) fail(`${cmd} exited with ${r.status ?? r.signal}`)
}
function output(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch {
    return null
  }
}
function have(cmd, argv) {
  return spawnSync(cmd, argv, { stdio: 'ignore' }).status === 0
}

// 1. The packages are one release: refuse to pack them at different versions.
run(process.execPath, [path.join(root, 'scripts', 'sync-versions.mjs'), '--check'])

// 2. What to build.
const zig = !hostOnly && process.platform === 'linux' && have('cargo', ['zigbuild', '--help'])
const plan = []
for (const t of TARGETS) {
  if (onlyKeys && !onlyKeys.includes(t.key)) continue
  if (skipBuild) {
    if (fs.existsSync(nodeFile(t))) plan.push({ t, how: 'prebuilt' })
    continue
  }
  if (t.key === hostKey && hostOnly && !rebuild && freshCheckoutBuild(t)) plan.push({ t, how: 'checkout' })
  else if (t.key === hostKey) plan.push({ t, how: zig && t.os === 'linux' ? 'zig' : 'cargo' })
  else if (hostOnly) continue
  else if (zig && t.os === 'linux') plan.push({ t, how: 'zig' })
  else if (process.platform === 'darwin' && t.os === 'darwin') plan.push({ t, how: 'cargo' })
}
if (onlyKeys) for (const k of onlyKeys) if (!TARGETS.some((t) => t.key === k)) fail(`unknown target ${k}`)
if (plan.length === 0) {
  fail(skipBuild ? 'no .node in npm/*/ to pack' : `nothing to build for this machine (${hostKey}); published targets: ${TARGETS.map((t) => t.key).join(', ')}`)
}
const skipped = TARGETS.filter((t) => !plan.some((p) => p.t === t) && (!onlyKeys || onlyKeys.includes(t.key)))
if (skipped.length && !skipBuild) {
  const why = hostOnly
    ? '--host-only'
    : process.platform === 'linux' && !zig
      ? 'no cargo-zigbuild here (pip install cargo-zigbuild ziglang)'
      : 'built by the release workflow on their own OS'
  log(`not built here: ${skipped.map((t) => t.key).join(', ')} (${why})`)
}

// The checkout's `npm run build` output, if it is a release build (stripped) newer than
// every Rust source: napi-rs rebuilds the crate on a second `napi build` even when nothing
// changed (its type-def cache), a few minutes of LTO that CI need not spend twice.
function freshCheckoutBuild(t) {
  const file = path.join(root, `nebula-native.${t.key}.node`)
  if (!fs.existsSync(file)) return false
  const desc = output('file', ['-b', file])
  if (desc === null || !/\bstripped\b/.test(desc) || desc.includes('not stripped')) return false
  const built = fs.statSync(file).mtimeMs
  const sources = ['Cargo.toml', 'Cargo.lock', 'build.rs', 'src', 'crates'].map((f) => path.join(root, f))
  const newer = (f) => {
    const st = fs.statSync(f, { throwIfNoEntry: false })
    if (!st) return false
    if (st.isDirectory()) return fs.readdirSync(f).some((e) => newer(path.join(f, e)))
    return st.mtimeMs > built
  }
  return !sources.some(newer)
}

function nodeFile(t) {
  return path.join(root, 'npm', t.key, `nebula-native.${t.key}.node`)
}

// 3. Build each, one at a time (each release build takes all the cores for minutes).
const napi = path.join(root, 'node_modules', '.bin', 'napi')
for (const p of plan) {
  if (p.how === 'prebuilt') continue
  if (p.how === 'checkout') {
    fs.copyFileSync(path.join(root, `nebula-native.${p.t.key}.node`), nodeFile(p.t))
    log(`${p.t.key}: the checkout's release build is newer than every Rust source, packing it (--rebuild to build anyway)`)
    continue
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `nebula-build-${p.t.key}-`))
  const triple = p.how === 'zig' && p.t.libc === 'glibc' ? `${p.t.triple}.${GLIBC_FLOOR}` : p.t.triple
  const argv = ['build', '--platform', '--release', '--target', triple, '--output-dir', out, '--js', 'binding.js', '--dts', 'binding.d.ts']
  if (p.how === 'zig') argv.push('--cross-compile')
  const started = Date.now()
  run(napi, argv)
  const built = path.join(out, `nebula-native.${p.t.key}.node`)
  if (!fs.existsSync(built)) fail(`napi build wrote no ${path.basename(built)} in ${out}`)
  fs.copyFileSync(built, nodeFile(p.t))
  fs.rmSync(out, { recursive: true, force: true })
  log(`built ${p.t.key} in ${Math.round((Date.now() - started) / 1000)} s`)
}

// 4. Check each binary is what it claims, and load the one for this machine.
const report = []
for (const p of plan) {
  const file = nodeFile(p.t)
  const size = fs.statSync(file).size
  const desc = output('file', ['-b', file])
  if (desc !== null) {
    const kind = p.t.os === 'darwin' ? 'Mach-O' : 'ELF 64-bit'
    if (!desc.includes(kind) || !desc.includes(p.t.fileArch)) fail(`${p.t.key}: \`file\` says "${desc.trim()}", expected ${kind} ${p.t.fileArch}`)
    if (p.t.os === 'linux' && desc.includes('not stripped')) fail(`${p.t.key} is not stripped (Cargo.toml [profile.release] strip)`)
  }
  let glibc = ''
  if (p.t.libc === 'glibc') {
    const dyn = output('objdump', ['-T', file])
    if (dyn !== null) {
      const versions = [...new Set(dyn.match(/GLIBC_[0-9.]+/g) ?? [])].map((v) => v.slice(6))
      const newest = versions.sort(compareVersions).at(-1) ?? '-'
      glibc = `needs glibc ${newest}`
      if (!['cargo', 'checkout'].includes(p.how) && compareVersions(newest, GLIBC_FLOOR) > 0)
        fail(`${p.t.key} needs GLIBC_${newest}, more than the floor ${GLIBC_FLOOR}`)
    }
  }
  if (p.t.libc === 'musl') {
    const needed = output('objdump', ['-p', file])
    if (needed !== null) {
      const libs = [...needed.matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1])
      if (libs.some((l) => /^(libc\.so\.6|libpthread|libdl|ld-linux)/.test(l))) fail(`${p.t.key} links glibc: ${libs.join(' ')}`)
      glibc = `needs ${libs.join(' ')} (musl)`
    }
  }
  report.push({ key: p.t.key, how: p.how, size, file: desc?.trim() ?? '(no `file` here)', glibc })
}
const host = plan.find((p) => p.t.key === hostKey)
if (host) {
  const probe = `const b = require(${JSON.stringify(nodeFile(host.t))}); if (typeof b.NativeEngine !== 'function') { console.error('no NativeEngine export'); process.exit(2) }`
  run(process.execPath, ['-e', probe])
  log(`loaded ${hostKey} in Node ${process.version}`)
}

// 5. The tarballs. --ignore-scripts: packing must not run `prepare` (a release build of
// the host target) again; the main package is packed without its scripts (pack-main.mjs).
fs.rmSync(dist, { recursive: true, force: true })
fs.mkdirSync(dist, { recursive: true })
function pack(dir) {
  const out = output('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dist, dir])
  if (out === null) fail(`npm pack ${dir} failed`)
  return JSON.parse(out)[0]
}
const main = packMain(root, dist)
const shipped = main.files.map((f) => f.path)
const binaries = shipped.filter((f) => f.endsWith('.node'))
if (binaries.length) fail(`the main tarball must carry no .node, it has ${binaries.join(', ')}`)
if (main.manifest.scripts) fail('the main tarball must carry no scripts')
const tarballs = [main.filename]
for (const p of plan) {
  const r = pack(path.join(root, 'npm', p.t.key))
  if (!r.files.some((f) => f.path.endsWith('.node'))) fail(`${r.filename} has no .node`)
  const entry = report.find((e) => e.key === p.t.key)
  entry.tarball = r.filename
  entry.packed = r.size
  tarballs.push(r.filename)
}

log(`dist/ (version ${version}):`)
console.log(
  `  ${main.filename}  ${kb(main.size)} packed, ${shipped.length} files, no .node, optionalDependencies: ${Object.keys(pkg.optionalDependencies ?? {}).length}`,
)
for (const e of report) {
  console.log(`  ${e.tarball}  ${kb(e.packed)} packed, .node ${mb(e.size)} (${e.how}) ${e.glibc}\n      ${e.file}`)
}

function kb(n) {
  return `${(n / 1000).toFixed(0)} kB`
}
function mb(n) {
  return `${(n / 1e6).toFixed(1)} MB`
}
function compareVersions(a, b) {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d) return d
  }
  return 0
}
