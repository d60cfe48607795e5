// Packs the main package for users: the files package.json's `files` selects, with a
// package.json that has no `scripts` and no `devDependencies`. The checkout's `prepare`
// (a release build from source, for contributors' `npm install`) must not reach users:
// npm lists any lifecycle script of a dependency, `prepare` included, as an install script
// that needs approval (allowScripts). The tarball also carries no .node: the addon comes
// from the platform packages in optionalDependencies.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

function npmJson(argv, cwd) {
  return JSON.parse(execFileSync('npm', argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }))[0]
}

/** Writes `<dest>/nebula-native-<version>.tgz`; returns npm pack's JSON (filename, files, size…) and the manifest. */
export function packMain(root, dest) {
  const listed = npmJson(['pack', '--dry-run', '--json', '--ignore-scripts'], root)
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-pack-'))
  try {
    for (const { path: rel } of listed.files) {
      fs.mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true })
      fs.copyFileSync(path.join(root, rel), path.join(stage, rel))
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
    delete manifest.scripts
    delete manifest.devDependencies
    fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    fs.mkdirSync(dest, { recursive: true })
    const packed = npmJson(['pack', '--json', '--ignore-scripts', '--pack-destination', dest], stage)
    return { ...packed, manifest }
  } finally {
    fs.rmSync(stage, { recursive: true, force: true })
  }
}
