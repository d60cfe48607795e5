// Which native addon the package loads on which machine, and what a user reads when none
// fits (lib/native-loader.js, with the machine injected), plus what `npm pack` ships:
// the main tarball carries no .node and names the platform packages at its own version.
import { describe, it, expect } from 'vitest'
import { createRequire } from 'node:module'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
const loader = require('../lib/native-loader.js')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

type Machine = { platform: string; arch: string; libc: string | null }

/** loadNative on a made-up machine whose node_modules holds `installed` ({ name: version }). */
function load(machine: Machine, installed: Record<string, string> = {}, localBuild = false) {
  const asked: string[] = []
  const requireFn = (id: string) => {
    asked.push(id)
    const name = id.replace(/\/package\.json$/, '')
    if (id.endsWith('.node')) return { from: 'checkout', id }
    if (!(name in installed)) {
      const e: any = new Error(`Cannot find module '${id}'\nRequire stack:\n- /x/lib/native-loader.js`)
      e.code = 'MODULE_NOT_FOUND'
      throw e
    }
    return id.endsWith('/package.json') ? { name, version: installed[name] } : { from: 'package', name }
  }
  const exists = (file: string) => localBuild && file.endsWith('.node')
  const binding = loader.loadNative({ machine, version: '1.2.3', packageRoot: '/pkg', requireFn, exists })
  return { binding, asked }
}

function loadError(machine: Machine, installed: Record<string, string> = {}): Error & Record<string, any> {
  try {
    load(machine, installed)
  } catch (e) {
    return e as any
  }
  throw new Error('expected loadNative to throw')
}

describe('choosing the platform package', () => {
  const cases: [Machine, string][] = [
    [{ platform: 'linux', arch: 'x64', libc: 'gnu' }, 'nebula-native-linux-x64-gnu'],
    [{ platform: 'linux', arch: 'x64', libc: 'musl' }, 'nebula-native-linux-x64-musl'],
    [{ platform: 'linux', arch: 'arm64', libc: 'gnu' }, 'nebula-native-linux-arm64-gnu'],
    [{ platform: 'linux', arch: 'arm64', libc: 'musl' }, 'nebula-native-linux-arm64-musl'],
    [{ platform: 'darwin', arch: 'x64', libc: null }, 'nebula-native-darwin-x64'],
    [{ platform: 'darwin', arch: 'arm64', libc: null }, 'nebula-native-darwin-arm64'],
  ]
  for (const [machine, name] of cases) {
    it(`${machine.platform} ${machine.arch} ${machine.libc ?? ''} loads ${name}`, () => {
      const { binding } = load(machine, { [name]: '1.2.3' })
      expect(binding).toEqual({ from: 'package', name })
    })
  }

  it("a checkout's own build (nebula-native.<key>.node in the package root) comes first", () => {
    const { binding, asked } = load({ platform: 'linux', arch: 'x64', libc: 'gnu' }, {}, true)
    expect(binding).toEqual({ from: 'checkout', id: join('/pkg', 'nebula-native.linux-x64-gnu.node') })
    expect(asked).toHaveLength(1)
  })

  it('a platform package at another version is refused, naming both versions', () => {
    const err = loadError({ platform: 'linux', arch: 'x64', libc: 'gnu' }, { 'nebula-native-linux-x64-gnu': '1.2.2' })
    expect(err.code).toBe('NEBULA_NATIVE_VERSION_MISMATCH')
    expect(err.message).toContain('nebula-native-linux-x64-gnu is at version 1.2.2 but nebula-native is at 1.2.3')
  })
})

describe('detecting musl', () => {
  const glibcLdd = '#! /bin/bash\n# ldd from the GNU C Library\nTEXTDOMAIN=libc\n'
  const muslLdd = '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n'
  const noReport = () => null

  it('from /usr/bin/ldd', () => {
    expect(loader.detectLibc({ platform: 'linux', readFile: () => muslLdd, getReport: noReport })).toBe('musl')
    expect(loader.detectLibc({ platform: 'linux', readFile: () => glibcLdd, getReport: noReport })).toBe('gnu')
  })

  it("from Node's report when there is no ldd", () => {
    const none = () => null
    const glibcReport = () => ({ header: { glibcVersionRuntime: '2.36' }, sharedObjects: ['/lib/x86_64-linux-gnu/libc.so.6'] })
    const muslReport = () => ({ header: {}, sharedObjects: ['/lib/ld-musl-aarch64.so.1', '/usr/lib/libstdc++.so.6'] })
    expect(loader.detectLibc({ platform: 'linux', readFile: none, getReport: glibcReport })).toBe('gnu')
    expect(loader.detectLibc({ platform: 'linux', readFile: none, getReport: muslReport })).toBe('musl')
  })

  it('is not asked off Linux', () => {
    expect(loader.detectLibc({ platform: 'darwin', readFile: () => muslLdd, getReport: noReport })).toBe(null)
  })

  it('this machine', () => {
    const libc = loader.detectLibc()
    expect(process.platform === 'linux' ? ['gnu', 'musl'] : [null]).toContain(libc)
  })
})

describe('the error when no addon fits', () => {
  it('a supported machine without its package: names machine, package and both ways out', () => {
    const err = loadError({ platform: 'linux', arch: 'arm64', libc: 'musl' })
    expect(err.code).toBe('NEBULA_NATIVE_NOT_FOUND')
    expect(err.message).toContain('linux-arm64-musl')
    expect(err.message).toContain('platform linux, arch arm64, libc musl')
    expect(err.message).toContain('the package nebula-native-linux-arm64-musl')
    expect(err.message).toContain('--omit=optional')
    expect(err.message).toMatch(/Rust toolchain, cargo/)
    // The first line of the resolution error, not its require stack.
    expect(err.message).toContain("Cannot find module 'nebula-native-linux-arm64-musl/package.json'")
    expect(err.message).not.toContain('Require stack')
  })

  it('Windows: says it is not supported yet, and which package was looked for', () => {
    const err = loadError({ platform: 'win32', arch: 'x64', libc: null })
    expect(err.code).toBe('NEBULA_NATIVE_NOT_FOUND')
    expect(err.message).toContain('Windows is not supported yet')
    expect(err.message).toContain('platform win32, arch x64, libc n/a')
    expect(err.message).toContain('nebula-native-win32-x64-msvc')
    expect(err.message).toContain('WSL2')
  })

  it('an unpublished target: lists what is prebuilt and how to build from source', () => {
    const err = loadError({ platform: 'linux', arch: 'arm', libc: 'gnu' }, { 'nebula-native-linux-arm-gnu': '1.2.3' })
    expect(err.message).toContain('no prebuilt native addon for linux-arm-gnu (platform linux, arch arm, libc glibc)')
    expect(err.message).toContain('nebula-native-linux-arm-gnu')
    for (const key of loader.SUPPORTED) expect(err.message).toContain(key)
    expect(err.message).toMatch(/Rust toolchain, cargo/)
    const freebsd = loadError({ platform: 'freebsd', arch: 'x64', libc: null })
    expect(freebsd.message).toContain('no prebuilt native addon for freebsd-x64 (platform freebsd, arch x64, libc n/a)')
  })
})

describe('the packages agree', () => {
  it('napi.targets, optionalDependencies and npm/<key>/package.json list the same targets, in lock-step', () => {
    expect(pkg.napi.targets).toHaveLength(loader.SUPPORTED.length)
    expect(Object.keys(pkg.optionalDependencies).sort()).toEqual(loader.SUPPORTED.map((k: string) => `nebula-native-${k}`).sort())
    for (const key of loader.SUPPORTED) {
      expect(pkg.optionalDependencies[`nebula-native-${key}`]).toBe(pkg.version)
      const sub = JSON.parse(readFileSync(join(root, 'npm', key, 'package.json'), 'utf8'))
      expect(sub.name).toBe(`nebula-native-${key}`)
      expect(sub.version).toBe(pkg.version)
      expect(sub.main).toBe(`nebula-native.${key}.node`)
      expect(sub.scripts).toBeUndefined()
      const [os, cpu, libc] = key.split('-')
      expect(sub.os).toEqual([os])
      expect(sub.cpu).toEqual([cpu])
      if (os === 'linux') expect(sub.libc).toEqual([libc === 'musl' ? 'musl' : 'glibc'])
      expect(pkg.napi.targets.some((t: string) => t.includes(cpu === 'x64' ? 'x86_64' : 'aarch64') && t.includes(os === 'darwin' ? 'apple' : libc))).toBe(true)
    }
  })

  it('sync-versions --check (run by `npm run package`) accepts the optionalDependencies in any order, and refuses a wrong version', () => {
    // npm sorts them by name on any `npm install --save`; the check compared them in TARGETS order and failed the release.
    const dir = mkdtempSync(join(tmpdir(), 'nebula-sync-test-'))
    try {
      for (const f of ['package.json', 'scripts/sync-versions.mjs', 'scripts/targets.mjs', ...loader.SUPPORTED.map((k: string) => `npm/${k}/package.json`)]) {
        mkdirSync(dirname(join(dir, f)), { recursive: true })
        copyFileSync(join(root, f), join(dir, f))
      }
      const check = () => spawnSync(process.execPath, [join(dir, 'scripts/sync-versions.mjs'), '--check'], { encoding: 'utf8' })
      const copy = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      const entries = Object.entries(copy.optionalDependencies)
      copy.optionalDependencies = Object.fromEntries(entries.reverse())
      writeFileSync(join(dir, 'package.json'), JSON.stringify(copy))
      expect(check().status).toBe(0)
      copy.optionalDependencies[entries[0][0]] = '0.0.1'
      writeFileSync(join(dir, 'package.json'), JSON.stringify(copy))
      const wrong = check()
      expect(wrong.status).toBe(1)
      expect(wrong.stderr).toMatch(/platform packages are not at nebula-native/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the main tarball (as `npm run package` packs it) has no .node and no scripts, and depends on ≥5 platform packages', async () => {
    const { packMain } = await import('../scripts/pack-main.mjs')
    const dest = mkdtempSync(join(tmpdir(), 'nebula-pack-test-'))
    try {
      const info = packMain(root, dest)
      const files: string[] = info.files.map((f: { path: string }) => f.path)
      expect(files.filter((f) => f.endsWith('.node'))).toEqual([])
      expect(files).toContain('lib/native-loader.js')
      expect(files).not.toContain('binding.js')
      // What npm will read at a user's install: the package.json inside the tarball.
      const tarball = join(dest, info.filename)
      expect(info.filename).toBe(`nebula-native-${pkg.version}.tgz`)
      const shipped = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }))
      // No lifecycle script at all: npm asks users to approve any, `prepare` included.
      expect(shipped.scripts).toBeUndefined()
      const platformDeps = Object.entries(shipped.optionalDependencies ?? {}).filter(([name]) => name.startsWith('nebula-native-'))
      expect(platformDeps.length).toBeGreaterThanOrEqual(5)
      for (const [, range] of platformDeps) expect(range).toBe(shipped.version)
    } finally {
      rmSync(dest, { recursive: true, force: true })
    }
  }, 60_000)
})
