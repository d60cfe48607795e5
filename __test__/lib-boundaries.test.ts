// An engine's state is its own: other lib/ modules reach what they share with it
// through lib/engine-internals.js, never through its fields. (The type check,
// `npm run lint`, catches the same where an engine is typed; this also covers
// untyped code.)
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Microservice, Testing } from '../index.js'

const LIB = path.join(__dirname, '..', 'lib')

function jsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) return jsFiles(full)
    return e.name.endsWith('.js') ? [full] : []
  })
}

/** `engine._x`, `engine['_x']`, `this._engine._x`, `e._x` where `e` was handed an engine. */
const ENGINE_FIELD = /\b(?:engine|_engine|engineRef)\s*(?:\?\.|\.)\s*_[A-Za-z]|\b(?:engine|_engine)\s*\[\s*['"`]_/

describe('engine boundaries', () => {
  it('no lib/ module reads or writes an engine field whose name starts with _', () => {
    const offenders: string[] = []
    for (const file of jsFiles(LIB)) {
      const lines = fs.readFileSync(file, 'utf8').split('\n')
      lines.forEach((line, i) => {
        if (ENGINE_FIELD.test(line)) offenders.push(`${path.relative(LIB, file)}:${i + 1}: ${line.trim()}`)
      })
    }
    expect(offenders).toEqual([])
  })

  it('the pattern finds such an access', () => {
    for (const line of ['const n = engine._native', 'engine._hookLayers.push(x)', 'this._engine._port', "engine['_routes']", 'engine?._sorted']) {
      expect(ENGINE_FIELD.test(line), line).toBe(true)
    }
    for (const line of ['engine.options', 'internalsOf(engine).native', 'this._engine = engine', 'engine.handler(C, "m")']) {
      expect(ENGINE_FIELD.test(line), line).toBe(false)
    }
  })

  it('an engine shows only its options, before and after it starts', async () => {
    const { engine } = Testing.createTestEngine({ plugins: [] })
    expect(Object.getOwnPropertyNames(engine)).toEqual(['options'])
    await engine.start(0)
    try {
      expect(Object.getOwnPropertyNames(engine)).toEqual(['options'])
      expect(Object.getOwnPropertySymbols(engine)).toEqual([])
    } finally {
      await engine.stop()
    }
    const plain = new Microservice({ name: 'plain', version: '1', modules: [] })
    expect(Object.keys(plain)).toEqual(['options'])
  })
})
