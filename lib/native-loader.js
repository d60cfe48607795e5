'use strict'

// Which compiled addon this machine needs, and where it comes from.
//
// A user's install gets the addon from one platform package (`nebula-native-<key>`,
// listed in the main package's optionalDependencies; npm installs only the one whose
// os/cpu/libc fit). A contributor's git checkout has its own build instead:
// `nebula-native.<key>.node` in the package root, written by `napi build --platform`.
//
// Everything here takes the machine as arguments so that the choice and the error
// text can be tested for any platform (`__test__/loader.test.ts`); lib/native.js
// passes the real ones.

const fs = require('node:fs')
const path = require('node:path')

const PACKAGE_NAME = 'nebula-native'

/** @typedef {Error & { code?: string, platformKey?: string, packageName?: string }} LoaderError */

/** The platform packages we publish, in napi's naming (`napi.targets` in package.json). */
const SUPPORTED = Object.freeze(['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64'])

/** `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`… as napi-rs names its platform packages. */
function platformKey({ platform, arch, libc }) {
  if (platform === 'linux') return `${platform}-${arch}-${libc === 'musl' ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `${platform}-${arch}-msvc`
  return `${platform}-${arch}`
}

/** `nebula-native-<key>`: the platform package for a machine. */
function packageNameFor(machine) {
  return `${PACKAGE_NAME}-${platformKey(machine)}`
}

/**
 * 'musl' or 'gnu' on Linux, null elsewhere. First `/usr/bin/ldd` (a script naming musl on
 * Alpine), then Node's own report: a glibc Node records the glibc it runs on.
 */
function detectLibc({ platform = process.platform, readFile = defaultReadFile, getReport = defaultGetReport } = {}) {
  if (platform !== 'linux') return null
  const ldd = readFile('/usr/bin/ldd')
  if (typeof ldd === 'string') return ldd.includes('musl') ? 'musl' : 'gnu'
  const report = getReport()
  if (report?.header?.glibcVersionRuntime) return 'gnu'
  const objects = Array.isArray(report?.sharedObjects) ? report.sharedObjects : []
  if (objects.some((f) => f.includes('libc.musl-') || f.includes('ld-musl-'))) return 'musl'
  return 'gnu'
}

function defaultReadFile(file) {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

/** @returns {any} Node's diagnostic report (JSON), or null */
function defaultGetReport() {
  try {
    /** @type {any} */
    const report = process.report
    if (!report || typeof report.getReport !== 'function') return null
    report.excludeNetwork = true
    return report.getReport()
  } catch {
    return null
  }
}

/** What the loader will try for a machine: the checkout's own build, then the platform package. */
function resolveNative(machine, packageRoot = path.join(__dirname, '..')) {
  const key = platformKey(machine)
  return {
    key,
    supported: SUPPORTED.includes(key),
    packageName: `${PACKAGE_NAME}-${key}`,
    localFile: path.join(packageRoot, `${PACKAGE_NAME}.${key}.node`),
  }
}

function describeMachine({ platform, arch, libc }) {
  const libcText = platform === 'linux' ? (libc === 'musl' ? 'musl' : 'glibc') : 'n/a'
  return `platform ${platform}, arch ${arch}, libc ${libcText}`
}

const BUILD_FROM_SOURCE =
  'build it from source: clone the nebula-native repository, run `npm install` there (it needs a Rust toolchain, cargo, ' +
  'and builds the addon), then `npm install /path/to/that/checkout` in your project'

/** The error for a machine without an addon, naming what was looked for and the ways out. */
function notFoundError(machine, resolved, cause) {
  const { key, packageName, supported } = resolved
  const lines = []
  if (machine.platform === 'win32') {
    lines.push(
      `nebula-native: Windows is not supported yet (${describeMachine(machine)}): ` +
        'the gateway and its worker supervisor use Unix sockets and process groups. ' +
        `No package ${packageName} is published.`,
      'Ways out:',
      '  - run it under WSL2, where the linux-x64-gnu package installs;',
      `  - or use Linux or macOS (prebuilt for ${SUPPORTED.join(', ')}).`,
    )
  } else if (!supported) {
    lines.push(
      `nebula-native: no prebuilt native addon for ${key} (${describeMachine(machine)}). ` +
        `Looked for the package ${packageName}, which is not published. Prebuilt: ${SUPPORTED.join(', ')}.`,
      'Ways out:',
      `  - ${BUILD_FROM_SOURCE}.`,
    )
  } else {
    lines.push(
      `nebula-native: the native addon for ${key} (${describeMachine(machine)}) is not installed: ` +
        `could not load the package ${packageName}${cause ? ` (${firstLine(cause.message)})` : ''}.`,
      `npm installs it with nebula-native as an optional dependency. Ways out:`,
      '  - reinstall without `--omit=optional` / `--no-optional` (and without `omit=optional` in your npm config); ' +
        'if node_modules or package-lock.json came from another platform, delete both and run `npm install` again;',
      `  - or ${BUILD_FROM_SOURCE}.`,
    )
  }
  const err = /** @type {LoaderError} */ (new Error(lines.join('\n')))
  err.code = 'NEBULA_NATIVE_NOT_FOUND'
  err.platformKey = key
  err.packageName = packageName
  if (cause) err.cause = cause
  return err
}

function firstLine(text) {
  return String(text).split('\n')[0]
}

function isMissing(err, request) {
  return err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(request)
}

/**
 * Loads the addon for `machine`. `requireFn` and `exists` are injectable for tests.
 * The platform package must be at the main package's version: the JS in lib/ and the
 * Rust in the .node are one program, and a mismatch would fail later in confusing ways.
 */
function loadNative({ machine, version, packageRoot = path.join(__dirname, '..'), requireFn = require, exists = fs.existsSync }) {
  const resolved = resolveNative(machine, packageRoot)
  if (exists(resolved.localFile)) return requireFn(resolved.localFile)
  if (!resolved.supported) throw notFoundError(machine, resolved)

  let pkgJson
  try {
    pkgJson = requireFn(`${resolved.packageName}/package.json`)
  } catch (err) {
    if (isMissing(err, resolved.packageName)) throw notFoundError(machine, resolved, err)
    throw err
  }
  if (version && pkgJson && pkgJson.version !== version) {
    const err = /** @type {LoaderError} */ (
      new Error(
        `nebula-native: ${resolved.packageName} is at version ${pkgJson.version} but nebula-native is at ${version}; ` +
          'they are built together and must be the same version. Reinstall nebula-native ' +
          '(delete node_modules and package-lock.json if an old one is pinned there).',
      )
    )
    err.code = 'NEBULA_NATIVE_VERSION_MISMATCH'
    throw err
  }
  try {
    return requireFn(resolved.packageName)
  } catch (err) {
    if (isMissing(err, resolved.packageName)) throw notFoundError(machine, resolved, err)
    // The .node is there but does not load (wrong libc, damaged file…): say which one.
    const e = /** @type {LoaderError} */ (new Error(`nebula-native: ${resolved.packageName} is installed but its addon failed to load: ${err.message}`))
    e.code = 'NEBULA_NATIVE_LOAD_FAILED'
    e.cause = err
    throw e
  }
}

/** This process's machine, as loadNative wants it. */
function currentMachine() {
  return { platform: process.platform, arch: process.arch, libc: detectLibc() }
}

module.exports = {
  SUPPORTED,
  platformKey,
  packageNameFor,
  detectLibc,
  resolveNative,
  notFoundError,
  loadNative,
  currentMachine,
}
