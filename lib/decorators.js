'use strict'

// Decorators work in both forms: TC39 standard decorators `(value, context)`
// and TypeScript's `experimentalDecorators` `(target, key?, descriptor?)`.
// Nothing is stored on the class or its prototype: metadata lives in
// module-level maps, keyed by the class and by the method function.

const DEFAULT_KEY = Symbol('nebula.default-modules')

/** Every decorated module class, in decoration order: { clazz, name, options, key }. */
const moduleRegistry = []
/** method function → [{ type, options }] in decoration order. */
const handlerMarks = new WeakMap()

function isStandardContext(ctx, kind) {
  return ctx !== null && typeof ctx === 'object' && ctx.kind === kind
}

function createModuleDecorator(key) {
  return function Module(name, options = {}) {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new TypeError('@Module(name, options?) needs a non-empty module name')
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`@Module("${name}") options must be an object`)
    }
    return function moduleDecorator(target, context) {
      if (typeof target !== 'function' || (context !== undefined && !isStandardContext(context, 'class'))) {
        throw new TypeError(`@Module("${name}") can only decorate a class`)
      }
      moduleRegistry.push({ clazz: target, name, options, key })
    }
  }
}

const Module = createModuleDecorator(DEFAULT_KEY)

/**
 * Marks a method as a handler of `type` (what plugins' onHandlerLoad look at).
 * @param {{ type?: string, options?: unknown }} [spec]
 */
function Handler({ type, options = {} } = {}) {
  if (typeof type !== 'string' || type === '') throw new TypeError('@Handler({ type, options }) needs a type')
  return function handlerDecorator(target, context, descriptor) {
    let fn
    if (isStandardContext(context, 'method')) {
      fn = target
    } else if (descriptor && typeof descriptor === 'object' && typeof descriptor.value === 'function') {
      fn = descriptor.value
    } else {
      throw new TypeError(`@Handler({ type: "${type}" }) can only decorate a method`)
    }
    const marks = handlerMarks.get(fn) || []
    marks.push({ type, options })
    handlerMarks.set(fn, marks)
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']

function Route(options = {}) {
  const method = options.method === undefined ? 'GET' : options.method
  const methods = Array.isArray(method) ? method : [method]
  for (const m of methods) {
    if (typeof m !== 'string' || !METHODS.includes(m.toUpperCase())) {
      throw new TypeError(`@Route: unsupported method ${JSON.stringify(m)} (use one of ${METHODS.join(', ')})`)
    }
  }
  const paths = Array.isArray(options.path) ? options.path : [options.path]
  for (const p of paths) {
    if (typeof p !== 'string') throw new TypeError('@Route({ path }) needs a path string (or a list of them)')
  }
  return Handler({ type: 'route', options: { ...options, method } })
}

/** A GET route (nebula-engine's `Page`): `@Page("/about")` or `@Page({ path })`. */
function Page(options) {
  const opts = typeof options === 'string' ? { path: options } : { ...options }
  return Route({ ...opts, method: 'GET' })
}

/** Decorated methods of a class, own and inherited (a subclass override wins). */
function collectHandlerMarks(clazz) {
  /** @type {Set<string | symbol>} */
  const seen = new Set(['constructor'])
  const found = []
  for (let proto = clazz.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Reflect.ownKeys(proto)) {
      if (seen.has(key)) continue
      seen.add(key)
      const desc = Object.getOwnPropertyDescriptor(proto, key)
      const fn = desc?.value
      if (typeof fn !== 'function') continue
      const marks = handlerMarks.get(fn)
      if (marks) found.push({ methodName: key, method: fn, marks })
    }
  }
  return found
}

/** The class behind `target`: a class is itself, a prototype or an instance names its constructor. */
function classOf(target) {
  if (typeof target === 'function') return target
  if (target !== null && typeof target === 'object' && typeof target.constructor === 'function') return target.constructor
  throw new TypeError('expected a class, its prototype or an instance')
}

/**
 * The handler metadata (decorator order) of `target`'s method `methodName`: `[{ type, options,
 * method, methodName, module }]`, empty when the method is not decorated (nebula-engine's
 * `getHandlerMetadata`). `target` is a class, its prototype or an instance.
 * @param {unknown} target
 * @param {string | symbol} methodName
 */
function getHandlerMetadata(target, methodName) {
  const found = collectHandlerMarks(classOf(target)).find((h) => h.methodName === methodName)
  return found ? metadataOf(classOf(target), found) : []
}

/**
 * Every decorated method of `target` (own and inherited): method name → its handler metadata
 * (nebula-engine's `getAllHandlerMetadata`).
 * @param {unknown} target
 */
function getAllHandlerMetadata(target) {
  const clazz = classOf(target)
  /** @type {Map<string | symbol, ReturnType<typeof metadataOf>>} */
  const all = new Map()
  for (const found of collectHandlerMarks(clazz)) all.set(found.methodName, metadataOf(clazz, found))
  return all
}

/** @param {Function} clazz @param {{ methodName: string | symbol, method: Function, marks: { type: string, options: unknown }[] }} found */
function metadataOf(clazz, { methodName, method, marks }) {
  return marks.map(({ type, options }) => ({ type, options, method, methodName, module: clazz }))
}

function modulesFor(key) {
  return moduleRegistry.filter((m) => m.key === key)
}

module.exports = {
  DEFAULT_KEY,
  createModuleDecorator,
  Module,
  Handler,
  Route,
  Page,
  collectHandlerMarks,
  getHandlerMetadata,
  getAllHandlerMetadata,
  modulesFor,
  moduleRegistry,
}
