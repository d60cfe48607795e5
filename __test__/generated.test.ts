// What scripts/generate.mjs writes is what the committed files hold (the same
// check as `npm run check:generated`), and the lists written in more than one
// place agree: the public names (index.js, index.mjs, index.d.ts) and the
// config's plugin keys (schema, index.d.ts, lib/config/plugins.js).
import { afterAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
// @ts-expect-error: a plain .mjs script, without types
import { outdated, cjsExportNames } from '../scripts/generate.mjs'
import * as cjs from '../index.js'
import { dtsInterfaceKeys, dtsValueExports } from './helpers/dts'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('..', import.meta.url))
const SCHEMA = require('../schema/nebula.config.schema.json')
const { PLUGIN_KEYS } = require('../lib/config/plugins.js')

const copies: string[] = []
afterAll(() => copies.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })))

/** A copy of what the generator reads and writes, to change without touching the checkout. */
function copyOfSources(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-generate-'))
  copies.push(dir)
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'schema', 'lib/plugins/specs']) {
    fs.cpSync(path.join(root, f), path.join(dir, f), { recursive: true })
  }
  return dir
}

function edit(dir: string, file: string, from: string, to: string) {
  const p = path.join(dir, file)
  const text = fs.readFileSync(p, 'utf8')
  expect(text.includes(from), `${file} holds ${from}`).toBe(true)
  fs.writeFileSync(p, text.replace(from, to))
}

describe('generated files', () => {
  it('schema, index.d.ts option types and index.mjs are as scripts/generate.mjs writes them (npm run gen)', () => {
    expect(outdated()).toEqual([])
  })

  it('goes stale when a spec changes (a key, a bound)', () => {
    const dir = copyOfSources()
    expect(outdated(dir)).toEqual([])
    edit(dir, 'lib/plugins/specs/cors.js', 'maxAge: {', 'maxAgeSeconds: {')
    expect(outdated(dir).map((s: { file: string }) => s.file)).toEqual(['schema/nebula.config.schema.json', 'index.d.ts'])
    const again = copyOfSources()
    edit(again, 'lib/plugins/specs/rate-limit.js', 'maximum: 1000000000', 'maximum: 1000')
    expect(outdated(again)).toMatchObject([{ file: 'schema/nebula.config.schema.json', expected: '          "maximum": 1000,' }])
  })

  it('goes stale when the schema or a generated type is edited by hand, or index.js exports another name', () => {
    const dir = copyOfSources()
    edit(dir, 'index.d.ts', '  threshold?: number', '  threshold?: string')
    edit(dir, 'schema/nebula.config.schema.json', '"maximum": 300', '"maximum": 600')
    edit(dir, 'index.js', 'module.exports = {\n', 'module.exports = {\n  Extra,\n')
    expect(outdated(dir).map((s: { file: string }) => s.file)).toEqual(['schema/nebula.config.schema.json', 'index.d.ts', 'index.mjs'])
  })
})

describe('the public names, written once (index.js)', () => {
  const names = cjsExportNames(fs.readFileSync(path.join(root, 'index.js'), 'utf8')).sort()

  it('index.js exports exactly its module.exports list', () => {
    expect(
      Object.keys(cjs)
        .filter((k) => k !== 'default')
        .sort(),
    ).toEqual(names)
  })

  it('index.mjs exports the same names (and the CommonJS object as default)', async () => {
    const esm = await import('../index.mjs')
    expect(
      Object.keys(esm)
        .filter((k) => k !== 'default')
        .sort(),
    ).toEqual(names)
    for (const n of names) expect(esm[n], n).toBe((cjs as Record<string, unknown>)[n])
  })

  it('index.d.ts declares the same names as values', () => {
    expect(dtsValueExports()).toEqual(names)
  })
})

describe("the config's plugin keys", () => {
  it('are the same in the schema, in PluginsConfig (index.d.ts) and in lib/config/plugins.js, in order', () => {
    expect(Object.keys(SCHEMA.properties.plugins.properties)).toEqual(PLUGIN_KEYS)
    expect(dtsInterfaceKeys('PluginsConfig')).toEqual(PLUGIN_KEYS)
  })
})
