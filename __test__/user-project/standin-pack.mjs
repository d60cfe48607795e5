// Stand-in for `npm run package -- --host-only` while the checkout has no `package`
// script: writes the same two tarballs into <outDir> from the addon already built in
// the checkout's root (`npm run build` or `npm run build:debug`):
//   nebula-native-<version>.tgz                the main package: no .node, an
//                                              optionalDependency on the platform package
//   nebula-native-<platform>-<version>.tgz     the host's platform package (os/cpu/libc,
//                                              main → its .node, debug info stripped)
// Usage: node __test__/user-project/standin-pack.mjs <outDir>
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** napi-rs's name for this machine's target: linux-x64-gnu, linux-arm64-musl, darwin-arm64, … */
export function hostPlatform() {
  const { platform, arch } = process
  if (platform !== 'linux') return `${platform}-${arch}`
  const glibc = process.report.getReport().header.glibcVersionRuntime
  return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`
}

export function standinPack(outDir) {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
  const binaryName = pkg.napi?.binaryName ?? pkg.name
  const platform = hostPlatform()
  const nodeFile = `${binaryName}.${platform}.node`
  for (const f of [nodeFile, 'binding.js', 'binding.d.ts']) {
    if (!existsSync(join(repo, f))) throw new Error(`standin-pack: ${f} is missing in ${repo}; run \`npm run build\` first`)
  }
  mkdirSync(outDir, { recursive: true })
  const stage = mkdtempSync(join(tmpdir(), 'nebula-standin-'))
  try {
    // The platform package: just the binary.
    const platDir = join(stage, 'platform')
    mkdirSync(platDir)
    cpSync(join(repo, nodeFile), join(platDir, nodeFile))
    try {
      // A debug build is ~180 MB with its debug info, ~45 MB without.
      execFileSync('strip', ['--strip-debug', join(platDir, nodeFile)], { stdio: 'ignore' })
    } catch {
      // No strip here: publish it as it is (the registry allows large bodies).
    }
    const [os, cpu, abi] = platform.split('-')
    const platPkg = {
      name: `${pkg.name}-${platform}`,
      version: pkg.version,
      description: `${pkg.name}'s native addon for ${platform}`,
      license: pkg.license,
      os: [os],
      cpu: [cpu],
      ...(abi ? { libc: [abi === 'gnu' ? 'glibc' : 'musl'] } : {}),
      main: nodeFile,
      files: [nodeFile],
      engines: pkg.engines,
    }
    writeFileSync(join(platDir, 'package.json'), `${JSON.stringify(platPkg, null, 2)}\n`)

    // The main package: the JS face, no binary, the platform package as an optional dependency.
    const mainDir = join(stage, 'main')
    mkdirSync(mainDir)
    const files = pkg.files.filter((f) => !f.endsWith('.node'))
    for (const f of [...files, 'README.md', 'LICENSE']) {
      const from = join(repo, f.replace(/\/$/, ''))
      if (existsSync(from)) cpSync(from, join(mainDir, f.replace(/\/$/, '')), { recursive: true })
    }
    const mainPkg = { ...pkg, files, optionalDependencies: { [platPkg.name]: pkg.version } }
    delete mainPkg.scripts
    delete mainPkg.devDependencies
    // The `./vitest` entry the lead adds to package.json (kept here until it is merged).
    mainPkg.exports = {
      ...mainPkg.exports,
      './vitest': { types: './lib/vitest.d.ts', import: './lib/vitest.mjs', require: './lib/vitest.js' },
    }
    writeFileSync(join(mainDir, 'package.json'), `${JSON.stringify(mainPkg, null, 2)}\n`)

    for (const dir of [platDir, mainDir]) {
      execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', outDir], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'inherit'],
      })
    }
    return readdirSync(outDir).filter((f) => f.endsWith(`-${pkg.version}.tgz`))
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(repo, 'dist'))
  for (const f of standinPack(out)) console.log(join(out, f))
}
