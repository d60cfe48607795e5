// nebula-native/vitest: decorators() lowers TC39 standard decorators, which Vite 8's
// transformer leaves as they are (the user-project run proves it in a real vitest 4
// project; these cases check the plugin itself, quickly, inside `npm test`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { decorators } from '../../lib/vitest.mjs'

const here = join(__dirname, 'x')
const repo = join(__dirname, '..', '..')
const work = mkdtempSync(join(tmpdir(), 'nebula-vitest-plugin-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const SOURCE = `
import { Module, Route, RoutePlugin, Testing } from 'nebula-native'
const seen: string[] = []
const probe = (value: unknown, context: { kind: string; name?: unknown }) => void seen.push(\`\${context.kind}:\${String(context.name)}\`)
const { Module: M, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
@probe
@M('lowered', { routePrefix: '/lowered' })
class Lowered {
  greeting: string = 'hi'
  @probe
  @Route({ path: '/hello' })
  hello(): string {
    return this.greeting + ' from a lowered decorator'
  }
}
export { seen, engine, Lowered, Module }
`

/** Transforms SOURCE with the plugin and imports the result. */
async function lowerAndImport(compiler: 'esbuild' | 'typescript', name: string) {
  const plugin = decorators({ compiler })
  plugin.configResolved({ root: process.cwd() })
  const out = await plugin.transform(SOURCE, join(work, `${name}.ts`))
  expect(out).not.toBeNull()
  expect(out.code).not.toMatch(/^\s*@/m)
  expect(typeof out.map === 'string' || typeof out.map === 'object').toBe(true)
  // Written outside the checkout, so `nebula-native` points at the checkout's index.mjs.
  const file = join(work, `${name}.mjs`)
  writeFileSync(file, out.code.replace(/(['"])nebula-native\1/, JSON.stringify(pathToFileURL(join(repo, 'index.mjs')).href)))
  return import(pathToFileURL(file).href)
}

describe('nebula-native/vitest decorators()', () => {
  for (const compiler of ['esbuild', 'typescript'] as const) {
    // TypeScript lowers only while it has a JS API (up to 6); this checkout's devDependency is 5.x.
    const usable = compiler === 'esbuild' || typeof createRequire(__filename)('typescript').transpileModule === 'function'
    it.skipIf(!usable)(`lowers standard decorators with ${compiler}: (value, context), and the engine serves the route`, async () => {
      const m = await lowerAndImport(compiler, compiler)
      expect(m.seen).toEqual(['method:hello', 'class:Lowered'])
      const res = await m.engine.request('/lowered/hello')
      expect(await res.text()).toBe('hi from a lowered decorator')
      await m.engine.stop()
    })
  }

  it('leaves alone files without decorators, node_modules and virtual modules', async () => {
    const plugin = decorators()
    plugin.configResolved({ root: process.cwd() })
    expect(await plugin.transform('export const a: number = 1', `${here}.ts`)).toBeNull()
    expect(await plugin.transform(SOURCE, '/p/node_modules/dep/index.ts')).toBeNull()
    expect(await plugin.transform(SOURCE, '\0virtual:x.ts')).toBeNull()
    expect(await plugin.transform(SOURCE, `${here}.css`)).toBeNull()
  })

  it('refuses an unknown compiler with a clear error', () => {
    expect(() => decorators({ compiler: 'babel' as never })).toThrow(/'auto', 'esbuild' or 'typescript'/)
  })
})

// The README's "Testing your service" shows these files; the user-project run uses them as they are.
describe('README "Testing your service"', () => {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8')
  const hasSection = /^#+ .*Testing your service/m.test(readme)
  const files = ['standard/vitest.config.ts', 'standard/tsconfig.json', 'legacy/vitest.config.ts', 'legacy/tsconfig.json']
  for (const f of files) {
    it.skipIf(!hasSection)(`shows fixture/${f} byte for byte`, () => {
      const text = readFileSync(join(__dirname, 'fixture', f), 'utf8').trimEnd()
      expect(readme.includes(text), `README.md lacks fixture/${f} as it is`).toBe(true)
    })
  }
})
