#!/usr/bin/env node
// Runs nebula-engine's own test files against this package (npm run test:nebula).
//
//   node scripts/nebula-tests.mjs [nebula] [--only <substring>]… [--messages]
//
// [nebula] is a nebula-engine checkout or git directory (default: the read-only mirror
// /work/.mirror/nebula-mesh+nebula-engine/repo; a bare git directory is read with
// `git show HEAD:<path>`). The test files listed in FILES are copied into ./.nebula-tests/
// (git-ignored, never committed: they are nebula's, not ours), their imports of nebula's
// own modules (`../../core/testing`, `./plugin`, `../cache`, …) rewritten to this package's
// entry (index.js at the repository root), third-party imports (vitest, zod, hono, ejson,
// ioredis…) left alone. They run under vitest with nebula's own settings (globals, hono/jsx
// as the JSX runtime, TC39 decorators) and a JSON reporter; the summary prints pass/fail
// counts per file and in total, then the failing tests grouped by file.
//
//   --only <s>   run only the files whose path contains <s> (repeatable)
//   --messages   print each failure's first message lines under its name
//
// ./.nebula-tests/ stays after the run (replaced by the next one): vitest's own output, with
// each failure's diff, is in ./.nebula-tests/vitest.log, its JSON report in results.json.
//
// The exit code is 0 when every test ran passed, 1 otherwise, 2 on a usage or setup error.
// A developer tool: not part of `npm test`, CI cannot fetch nebula-engine.

import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const DEFAULT_SOURCE = '/work/.mirror/nebula-mesh+nebula-engine/repo'
const OUT = path.join(ROOT, '.nebula-tests')

/** The nebula-engine test files run here: the plugins and core parts this package implements. */
export const FILES = [
  'src/core/engine.test.ts',
  'src/core/factory.test.ts',
  'src/core/decorators.test.ts',
  'src/plugins/route/route-plugin.test.ts',
  'src/plugins/cache/cache-plugin.test.ts',
  'src/plugins/graceful-shutdown/graceful-shutdown-plugin.test.ts',
  'src/plugins/action/action-plugin.test.ts',
  'src/plugins/client-code/client-code-plugin.test.ts',
  'src/plugins/concurrency-lock/concurrency-lock-plugin.test.ts',
  'src/plugins/dynamic-config/dynamic-config-plugin.test.ts',
]

function usage(message) {
  if (message) console.error(`nebula-tests: ${message}`)
  console.error('usage: node scripts/nebula-tests.mjs [nebula checkout or git dir] [--only <substring>]… [--messages]')
  process.exit(2)
}

function parseArgs(argv) {
  const args = { source: DEFAULT_SOURCE, only: [], messages: false }
  let sourceGiven = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--only') {
      const v = argv[++i]
      if (!v) usage('--only needs a value')
      args.only.push(v)
    } else if (a === '--messages') args.messages = true
    else if (a === '--help' || a === '-h') usage()
    else if (a.startsWith('-')) usage(`unknown option ${a}`)
    else if (sourceGiven) usage(`one nebula path only (got ${args.source} and ${a})`)
    else {
      args.source = path.resolve(a)
      sourceGiven = true
    }
  }
  return args
}

/** A reader of nebula's files: from a work tree when the file is there, else from git's HEAD. */
function sourceReader(source) {
  if (!fs.existsSync(source)) usage(`${source} does not exist`)
  if (fs.existsSync(path.join(source, FILES[0]))) {
    return (file) => {
      try {
        return fs.readFileSync(path.join(source, file), 'utf8')
      } catch (e) {
        throw new Error(`cannot read ${file} from ${source}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)
      }
    }
  }
  return (file) => {
    try {
      return execFileSync('git', ['-C', source, 'show', `HEAD:${file}`], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (e) {
      const why = String(e.stderr || e.message).trim()
      throw new Error(`cannot read ${file} from ${source}: ${why}`)
    }
  }
}

// A module specifier in `from '…'`, `import('…')`, `require('…')` or a bare `import '…'`.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(["'])([^"'\n]+)\2/gm

/**
 * `text` with every relative import (nebula's own modules) pointing at `entry`, a path
 * relative to the file; packages (vitest, zod, hono/jsx, …) are kept. Returns the text and
 * the specifiers it replaced.
 */
export function rewriteImports(text, entry) {
  const replaced = []
  const out = text.replace(SPECIFIER, (whole, lead, quote, spec) => {
    if (!spec.startsWith('./') && !spec.startsWith('../') && spec !== '.' && spec !== '..') return whole
    replaced.push(spec)
    return `${lead}${quote}${entry}${quote}`
  })
  return { text: out, replaced }
}

function writeProject(read, files) {
  fs.rmSync(OUT, { recursive: true, force: true })
  fs.mkdirSync(OUT, { recursive: true })
  for (const file of files) {
    const dest = path.join(OUT, file)
    fs.mkdirSync(path.dirname(dest), { recursive: true })
    let entry = path.relative(path.dirname(dest), path.join(ROOT, 'index.js')).split(path.sep).join('/')
    if (!entry.startsWith('.')) entry = `./${entry}`
    const { text, replaced } = rewriteImports(read(file), entry)
    fs.writeFileSync(dest, `// Copied from nebula-engine's ${file} by scripts/nebula-tests.mjs; imports of its own modules → ${entry}\n${text}`)
    console.log(`  ${file}  (${replaced.length} import${replaced.length === 1 ? '' : 's'} → index.js: ${[...new Set(replaced)].join(', ') || '-'})`)
  }
  // nebula's own settings: JSX through hono/jsx, vitest globals; TC39 decorators (no
  // experimentalDecorators), as its tsconfig says and as this package's own tests compile.
  fs.writeFileSync(
    path.join(OUT, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          jsx: 'react-jsx',
          jsxImportSource: 'hono/jsx',
          strict: true,
          experimentalDecorators: false,
          useDefineForClassFields: true,
          esModuleInterop: true,
          skipLibCheck: true,
        },
        include: ['src/**/*'],
      },
      null,
      2,
    )}\n`,
  )
  fs.writeFileSync(
    path.join(OUT, 'vitest.config.mjs'),
    `// Written by scripts/nebula-tests.mjs.
import { defineConfig } from 'vitest/config'

process.env.NEBULA_LOG ??= 'off'

export default defineConfig({
  root: ${JSON.stringify(OUT)},
  esbuild: { jsx: 'automatic', jsxImportSource: 'hono/jsx' },
  test: {
    globals: true,
    environment: 'node',
    include: ['src/**/*.test.ts'],
    env: { NEBULA_LOG: process.env.NEBULA_LOG },
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
`,
  )
}

function runVitest() {
  const results = path.join(OUT, 'results.json')
  const log = path.join(OUT, 'vitest.log')
  const bin = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs')
  if (!fs.existsSync(bin)) usage(`vitest not found at ${bin} (run npm install)`)
  const run = spawnSync(
    process.execPath,
    [bin, 'run', '--config', path.join(OUT, 'vitest.config.mjs'), '--reporter=json', `--outputFile.json=${results}`, '--reporter=default'],
    {
      cwd: OUT,
      stdio: ['ignore', fs.openSync(log, 'w'), fs.openSync(log, 'a')],
      env: { ...process.env, NEBULA_LOG: process.env.NEBULA_LOG ?? 'off' },
    },
  )
  if (!fs.existsSync(results)) {
    console.error(`nebula-tests: vitest wrote no report (exit ${run.status}${run.signal ? `, ${run.signal}` : ''}); its output:\n`)
    console.error(fs.readFileSync(log, 'utf8'))
    process.exit(2)
  }
  return JSON.parse(fs.readFileSync(results, 'utf8'))
}

function firstLines(message, n) {
  return String(message ?? '')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() && !/^\s*at /.test(l))
    .slice(0, n)
}

function summarize(report, files, showMessages) {
  const byFile = new Map(files.map((f) => [f, { passed: 0, failed: 0, skipped: 0, failures: [], error: null }]))
  for (const suite of report.testResults ?? []) {
    const rel = path.relative(OUT, suite.name).split(path.sep).join('/')
    const row = byFile.get(rel) ?? { passed: 0, failed: 0, skipped: 0, failures: [], error: null }
    byFile.set(rel, row)
    for (const t of suite.assertionResults ?? []) {
      if (t.status === 'passed') row.passed++
      else if (t.status === 'failed') {
        row.failed++
        row.failures.push({ name: t.fullName || [...(t.ancestorTitles ?? []), t.title].join(' > '), messages: t.failureMessages ?? [] })
      } else row.skipped++
    }
    // A file that failed to load has no tests: say why.
    if ((suite.assertionResults ?? []).length === 0 && suite.status === 'failed') row.error = suite.message || 'the file failed to load'
  }

  const width = Math.max(...[...byFile.keys()].map((f) => f.length))
  let passed = 0
  let failed = 0
  let skipped = 0
  console.log('\nnebula-engine tests on this package:')
  for (const [file, row] of byFile) {
    passed += row.passed
    failed += row.failed
    skipped += row.skipped
    const total = row.passed + row.failed
    const note = [row.skipped ? `${row.skipped} skipped` : '', row.error ? 'FILE FAILED TO LOAD' : ''].filter(Boolean).join(', ')
    console.log(`  ${file.padEnd(width)}  ${String(row.passed).padStart(3)}/${String(total).padEnd(3)} passed${note ? `  (${note})` : ''}`)
  }
  console.log(`  ${'total'.padEnd(width)}  ${String(passed).padStart(3)}/${String(passed + failed).padEnd(3)} passed${skipped ? `  (${skipped} skipped)` : ''}`)

  const failing = [...byFile].filter(([, row]) => row.failures.length || row.error)
  if (failing.length) {
    console.log('\nFailing:')
    for (const [file, row] of failing) {
      console.log(`\n${file}`)
      if (row.error) console.log(`  (file) ${firstLines(row.error, 3).join(' | ')}`)
      for (const f of row.failures) {
        console.log(`  ✗ ${f.name}`)
        if (showMessages) for (const line of firstLines(f.messages[0], 4)) console.log(`      ${line}`)
      }
    }
  }
  console.log(`\nvitest's output (diffs, stacks): ${path.relative(ROOT, path.join(OUT, 'vitest.log'))}`)
  return { passed, failed, skipped, loadErrors: failing.filter(([, r]) => r.error).length }
}

function main() {
  const args = parseArgs(process.argv.slice(2))
  const read = sourceReader(args.source)
  const files = args.only.length ? FILES.filter((f) => args.only.some((s) => f.includes(s))) : FILES
  if (files.length === 0) usage(`--only ${args.only.join(', ')} matches none of: ${FILES.join(', ')}`)
  console.log(`nebula-engine tests from ${args.source} → ${path.relative(ROOT, OUT)}/`)
  try {
    writeProject(read, files)
  } catch (e) {
    console.error(`nebula-tests: ${e.message}`)
    process.exit(2)
  }
  const report = runVitest()
  const { failed, loadErrors } = summarize(report, files, args.messages)
  process.exit(failed === 0 && loadErrors === 0 ? 0 : 1)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
