// index.d.ts as TypeScript reads it: its exports and the literal types it declares.
import ts from 'typescript'
import { fileURLToPath } from 'node:url'

const DTS = fileURLToPath(new URL('../../index.d.ts', import.meta.url))

let cached: { checker: ts.TypeChecker; exports: ts.Symbol[] } | undefined

function load() {
  if (cached) return cached
  const program = ts.createProgram([DTS], { strict: true, noEmit: true, types: ['node'], lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'] })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(DTS)
  if (!source) throw new Error(`TypeScript could not read ${DTS}`)
  const module = checker.getSymbolAtLocation(source)
  if (!module) throw new Error(`${DTS} is not a module`)
  cached = { checker, exports: checker.getExportsOfModule(module) }
  return cached
}

/** The names index.d.ts exports as values (consts, classes, functions), sorted. */
export function dtsValueExports(): string[] {
  return load()
    .exports.filter((s) => s.flags & ts.SymbolFlags.Value)
    .map((s) => s.name)
    .sort()
}

/** A literal type's value; undefined for a type that is not one literal. */
function literalOf(type: ts.Type): string | number | boolean | undefined {
  if (type.isNumberLiteral() || type.isStringLiteral()) return type.value
  return undefined
}

function exported(name: string): ts.Symbol {
  const symbol = load().exports.find((s) => s.name === name)
  if (!symbol) throw new Error(`index.d.ts does not export ${name}`)
  return symbol
}

/** `export declare const name: { readonly K: <literal>, … }` as [K, literal] pairs, in order. */
export function dtsConstLiterals(name: string): [string, unknown][] {
  const { checker } = load()
  const symbol = exported(name)
  const decl = symbol.valueDeclaration
  if (!decl) throw new Error(`${name} is not a value in index.d.ts`)
  const type = checker.getTypeOfSymbolAtLocation(symbol, decl)
  return type.getProperties().map((p) => [p.name, literalOf(checker.getTypeOfSymbolAtLocation(p, decl))])
}

/** The literal type of property `prop` of the instances of exported class `name`, or undefined if not one literal. */
export function dtsInstanceLiteral(name: string, prop: string): unknown {
  const { checker } = load()
  const symbol = exported(name)
  const decl = symbol.valueDeclaration
  if (!decl) throw new Error(`${name} is not a value in index.d.ts`)
  const instance = checker.getDeclaredTypeOfSymbol(symbol)
  const p = instance.getProperty(prop)
  return p ? literalOf(checker.getTypeOfSymbolAtLocation(p, decl)) : undefined
}

/** The property names of exported interface `name`. */
export function dtsInterfaceKeys(name: string): string[] {
  const { checker } = load()
  return checker
    .getDeclaredTypeOfSymbol(exported(name))
    .getProperties()
    .map((p) => p.name)
}
