// Hostile values for property-based tests: what user code may throw or return
// that an error path cannot inspect naively (String() throws, `instanceof`
// throws, getters throw, `then` misbehaves), built lazily from recipes so that
// nothing is rejected or thrown before a handler delivers it, and printed by
// their recipe when fast-check reports a counterexample. No recipe holds a
// rejected promise inside another value: nobody could await it, and Node's
// verdict on an unhandled rejection would be the test's, not the engine's
// (the 'reject' mode returns one, for the engine to await).
import fc from 'fast-check'
import { HttpResponse } from '../../index.js'

export interface Recipe {
  label: string
  make(): unknown
}

function recipe(label: string, make: () => unknown): Recipe {
  return { label, make, [fc.toStringMethod]: () => label } as Recipe
}

function revoked(target: object) {
  const { proxy, revoke } = Proxy.revocable(target, {})
  revoke()
  return proxy
}

function cyclic() {
  const o: any = { a: 1 }
  o.self = o
  return o
}

function deep(depth: number) {
  let v: any = []
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

/** Values nothing special was done to, and well-known troublemakers. */
const leaf: fc.Arbitrary<Recipe> = fc.oneof(
  fc
    .anything({
      withBigInt: true,
      withNullPrototype: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withSparseArray: true,
      withObjectString: true,
    })
    .map((v) => recipe(`anything(${safeString(v)})`, () => v)),
  fc.constantFrom(
    recipe('Object.create(null)', () => Object.create(null)),
    recipe('revoked Proxy of {}', () => revoked({})),
    recipe('revoked Proxy of a function', () => revoked(() => 1)),
    recipe('Symbol()', () => Symbol('hostile')),
    recipe('10n', () => 10n),
    recipe('a function', () => () => 1),
    recipe('a cyclic object', cyclic),
    recipe('an array nested 20 000 deep', () => deep(20_000)),
    recipe('new Error()', () => new Error('plain error')),
    recipe('an Error without a prototype', () => Object.setPrototypeOf(new Error('no proto'), null)),
    recipe('{ status: 404, message }', () => ({ status: 404, message: 'not here' })),
    recipe('{ status: 1e9 }', () => ({ status: 1e9 })),
  ),
)

const KEYS: Array<string | symbol> = [
  'status',
  'statusCode',
  'message',
  'then',
  'toString',
  'valueOf',
  'toJSON',
  'constructor',
  'name',
  'stack',
  'code',
  Symbol.toPrimitive,
  Symbol.toStringTag,
]
const keyName = (k: string | symbol) => (typeof k === 'symbol' ? `[${k.description}]` : k)

/** A hostile value, possibly built around another one (which it throws, holds or rejects with). */
export const hostile: fc.Arbitrary<Recipe> = fc.letrec<{ value: Recipe }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3, depthIdentifier: 'hostile' },
    leaf,
    fc.tuple(fc.constantFrom(...KEYS), tie('value')).map(([k, inner]) =>
      recipe(`{ get ${keyName(k)}() { throw ${inner.label} } }`, () =>
        Object.defineProperty({}, k, {
          get() {
            throw inner.make()
          },
          enumerable: true,
        }),
      ),
    ),
    fc.tuple(fc.constantFrom(...KEYS), tie('value')).map(([k, inner]) =>
      recipe(`Object.create(null) with ${keyName(k)}: ${inner.label}`, () => {
        const o = Object.create(null)
        o[k] = inner.make()
        return o
      }),
    ),
    fc.tuple(fc.constantFrom('message', 'name', 'stack', 'status'), tie('value')).map(([k, inner]) =>
      recipe(`an Error whose ${k} getter throws ${inner.label}`, () =>
        Object.defineProperty(new Error('x'), k, {
          get() {
            throw inner.make()
          },
        }),
      ),
    ),
    tie('value').map((inner) =>
      recipe(`a Proxy whose every trap throws ${inner.label}`, () => {
        const boom = () => {
          throw inner.make()
        }
        return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom, apply: boom })
      }),
    ),
    tie('value').map((inner) => recipe(`a thenable rejecting with ${inner.label}`, () => ({ then: (_: any, rej: any) => rej(inner.make()) }))),
    tie('value').map((inner) => recipe(`a thenable resolving to ${inner.label}`, () => ({ then: (res: any) => res(inner.make()) }))),
    tie('value').map((inner) =>
      recipe(`a thenable whose then throws ${inner.label}`, () => ({
        then() {
          throw inner.make()
        },
      })),
    ),
    tie('value').map((inner) => recipe(`an Error caused by ${inner.label}`, () => new Error('with cause', { cause: inner.make() }))),
    tie('value').map((inner) => recipe(`{ status: ${inner.label} }`, () => ({ status: inner.make(), statusCode: inner.make() }))),
  ),
})).value

/** How a handler delivers the value. */
export type Mode =
  | 'throw'
  | 'return'
  | 'reject'
  | 'throw-after-await'
  | 'return-after-await'
  | 'stream-error'
  | 'stream-chunk'
  | 'response-body'
  | 'response-status'
  | 'response-header'
export const modes: Mode[] = [
  'throw',
  'return',
  'reject',
  'throw-after-await',
  'return-after-await',
  'stream-error',
  'stream-chunk',
  'response-body',
  'response-status',
  'response-header',
]
export const mode = fc.constantFrom(...modes)

/** Delivers `r`'s value the way `m` says (the result of a handler). */
export function deliver(m: Mode, r: Recipe): unknown {
  switch (m) {
    case 'throw':
      throw r.make()
    case 'return':
      return r.make()
    case 'reject':
      return Promise.reject(r.make())
    case 'throw-after-await':
      return (async () => {
        await null
        throw r.make()
      })()
    case 'return-after-await':
      return (async () => {
        await null
        return r.make()
      })()
    case 'stream-error':
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode('partial'))
          },
          pull(c) {
            c.error(r.make())
          },
        }),
      )
    case 'stream-chunk':
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(r.make() as any)
            c.close()
          },
        }),
      )
    case 'response-body':
      return new HttpResponse(r.make(), 200)
    case 'response-status':
      return new HttpResponse('x', r.make() as any)
    case 'response-header':
      return new HttpResponse('x', 200, { 'x-hostile': r.make() as any })
  }
}

/** Whether a handler failed (rather than returned) when it delivered this way. */
export const fails = (m: Mode) => m === 'throw' || m === 'reject' || m === 'throw-after-await'

function safeString(v: unknown) {
  try {
    return fc.stringify(v).slice(0, 80)
  } catch {
    return '?'
  }
}
