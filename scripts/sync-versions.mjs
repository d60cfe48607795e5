#!/usr/bin/env node
// Puts every platform package (npm/<key>/package.json) and the main package's
// optionalDependencies at the main package's version: they are one release and
// lib/native-loader.js refuses a platform package at another version.
// Runs as the `version` lifecycle script (`npm version patch` keeps them in lock-step);
// `--check` only reports and exits 1 when something is out of step.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { TARGETS } from './targets.mjs'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const check = process.argv.includes('--check')
const rootPkgPath = path.join(root, 'package.json')
const rootPkg = JSON.parse(fs.readFileSync(rootPkgPath, 'utf8'))
const { version } = rootPkg
const wrong = []

for (const t of TARGETS) {
  const file = path.join(root, 'npm', t.key, 'package.json')
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
  if (pkg.version !== version) {
    wrong.push(`${path.relative(root, file)} is at ${pkg.version}`)
    pkg.version = version
    if (!check) fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`)
  }
}
// Sorted by name, as npm writes them back on any `npm install --save`; compared whatever their order.
const optional = Object.fromEntries(TARGETS.map((t) => [`nebula-native-${t.key}`, version]).sort(([a], [b]) => (a < b ? -1 : 1)))
const sorted = (deps) => JSON.stringify(Object.entries(deps ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
if (sorted(rootPkg.optionalDependencies) !== sorted(optional)) {
  wrong.push(`package.json optionalDependencies are ${JSON.stringify(rootPkg.optionalDependencies)}`)
  rootPkg.optionalDependencies = optional
  if (!check) fs.writeFileSync(rootPkgPath, `${JSON.stringify(rootPkg, null, 2)}\n`)
}

if (check && wrong.length) {
  console.error(`platform packages are not at nebula-native ${version}:\n  ${wrong.join('\n  ')}\nrun: node scripts/sync-versions.mjs`)
  process.exit(1)
}
if (!check && wrong.length) console.log(`set to ${version}: ${wrong.length} place(s)`)
