// Type-checks lib/ (JSDoc) against index.d.ts and the generated binding.d.ts:
// fails with what `tsc -p tsconfig.lib.json --noEmit` reports.
// Run by `npm run lint`, after the addon is built (binding.d.ts comes from the build).
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail([d]) }
const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.lib.json'), {}, host)
if (config.errors.length > 0) fail(config.errors)
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, projectReferences: config.projectReferences })
const problems = ts.getPreEmitDiagnostics(program)
if (problems.length > 0) fail(problems)
console.log(`lib types: ${config.fileNames.length} files checked against index.d.ts`)

function fail(diagnostics) {
  const format = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, format))
  console.error(`lib types: ${diagnostics.length} problem(s)`)
  process.exit(1)
}
