'use strict'

// `nebula-native/vitest`: a Vite plugin for test suites written with TC39
// standard decorators. Vite 8 (vitest 4) transforms TypeScript with Oxc, which
// lowers only `experimentalDecorators`; Node runs no decorators at all, so a
// standard `@Route(...)` reaches it as-is and the file fails to load with
// "SyntaxError: Invalid or unexpected token". This plugin runs before Vite's
// own transform and lowers the decorators of the project's own files with a
// compiler the project already has or adds: esbuild (any version since 0.21),
// else TypeScript up to 6 (`ts.transpileModule`; TypeScript 7 has no JS API).
// Suites written with `experimentalDecorators` (tsconfig) need no plugin.

const path = require('node:path')
const { createRequire } = require('node:module')

const SOURCE = /\.(?:[cm]?tsx?|[cm]?jsx?)$/
// Cheap pre-check: a file without `@identifier` has no decorator to lower.
const DECORATOR = /@[A-Za-z_$]/

/**
 * @param {{ compiler?: 'auto' | 'esbuild' | 'typescript', include?: RegExp, target?: string }} [options]
 */
function decorators(options = {}) {
  const choice = options.compiler ?? 'auto'
  if (!['auto', 'esbuild', 'typescript'].includes(choice)) {
    throw new TypeError(`nebula-native/vitest: decorators({ compiler }) is 'auto', 'esbuild' or 'typescript', not ${JSON.stringify(choice)}`)
  }
  const include = options.include ?? SOURCE
  // ES2022 keeps class fields native (they run before the lowered decorators'
  // initializers exactly as the standard says); Node 20 runs all of ES2022.
  const target = options.target ?? 'es2022'
  let root = process.cwd()
  let lower

  return {
    name: 'nebula-native:decorators',
    enforce: 'pre',
    configResolved(config) {
      root = config.root
    },
    async transform(code, id) {
      const file = id.split('?', 1)[0]
      if (!include.test(file) || file.includes('/node_modules/') || file.startsWith('\0')) return null
      if (!DECORATOR.test(code)) return null
      lower ??= pickCompiler(choice, root, target)
      return lower(code, file)
    },
  }
}

/** Resolves a package from the user's project first, then from here. */
function load(name, root) {
  for (const base of [path.join(root, 'package.json'), __filename]) {
    try {
      return createRequire(base)(name)
    } catch (err) {
      if (err && err.code !== 'MODULE_NOT_FOUND') throw err
    }
  }
  return undefined
}

function pickCompiler(choice, root, target) {
  if (choice !== 'typescript') {
    const esbuild = load('esbuild', root)
    if (esbuild && typeof esbuild.transform === 'function') return withEsbuild(esbuild, target)
    if (choice === 'esbuild') throw missing('esbuild is not installed in this project')
  }
  const ts = load('typescript', root)
  if (ts && typeof ts.transpileModule === 'function') return withTypeScript(ts, target)
  throw missing(
    ts
      ? `the installed typescript (${ts.version ?? 'version unknown'}) has no transpileModule (TypeScript 7 has no JS compiler API)`
      : 'neither esbuild nor typescript is installed in this project',
  )
}

function missing(why) {
  return new Error(
    `nebula-native/vitest: cannot lower standard decorators: ${why}. ` +
      'Install esbuild (`npm install -D esbuild`), or typescript@6, ' +
      'or write the suite with "experimentalDecorators": true in tsconfig.json (then no plugin is needed).',
  )
}

function withEsbuild(esbuild, target) {
  return async (code, file) => {
    const ext = path.extname(file)
    const loader = /^\.[cm]?tsx$/.test(ext) ? 'tsx' : /^\.[cm]?ts$/.test(ext) ? 'ts' : ext === '.jsx' ? 'jsx' : 'js'
    const out = await esbuild.transform(code, {
      loader,
      target,
      format: 'esm',
      sourcefile: file,
      sourcemap: 'external',
      // Standard decorators whatever tsconfig.json says; keep JSX for Vite.
      tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true, jsx: 'preserve' } },
      jsx: 'preserve',
    })
    return { code: out.code, map: out.map || null }
  }
}

function withTypeScript(ts, target) {
  const scriptTarget = ts.ScriptTarget[target.toUpperCase().replace('ESNEXT', 'ESNext')] ?? ts.ScriptTarget.ES2022
  return async (code, file) => {
    const out = ts.transpileModule(code, {
      fileName: file,
      compilerOptions: {
        target: scriptTarget,
        module: ts.ModuleKind.ESNext,
        experimentalDecorators: false,
        useDefineForClassFields: true,
        verbatimModuleSyntax: false,
        jsx: ts.JsxEmit.Preserve,
        sourceMap: true,
        inlineSources: true,
      },
    })
    return { code: out.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'), map: out.sourceMapText ?? null }
  }
}

module.exports = { decorators }
