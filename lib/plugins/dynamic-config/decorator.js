'use strict'

// `@Config({ key, defaultValue, schema?, description?, sensitive?, onChange? })`
// on a class field (nebula-engine's dynamic config). Works as a TC39 standard
// field decorator (the field's initializer records the instance) and as a
// TypeScript `experimentalDecorators` property decorator (the prototype
// records the class). DynamicConfigPlugin turns each such field of a module
// instance into a getter when the engine starts.

const { isPlainObject } = require('../coordinator')

/** class → Map<field, options> (experimentalDecorators). */
const classFields = new WeakMap()
/** instance → Map<field, options> (standard decorators). */
const instanceFields = new WeakMap()

/**
 * Checks `@Config` options; throws a TypeError naming what is wrong.
 * @param {unknown} options
 * @param {string} who
 */
function checkConfigOptions(options, who) {
  if (!isPlainObject(options)) throw new TypeError(`${who}: options must be an object { key, defaultValue, schema?, description?, sensitive?, onChange? }`)
  const o = /** @type {Record<string, unknown>} */ (options)
  for (const k of Object.keys(o)) {
    if (!['key', 'defaultValue', 'schema', 'description', 'sensitive', 'onChange'].includes(k)) {
      throw new TypeError(`${who}: unknown option ${JSON.stringify(k)}`)
    }
  }
  if (typeof o.key !== 'string' || o.key === '' || Buffer.byteLength(o.key) > 200) {
    throw new TypeError(`${who}: key must be a non-empty string of at most 200 bytes, got ${JSON.stringify(o.key)}`)
  }
  const schema = /** @type {{ safeParse?: unknown } | undefined} */ (o.schema)
  if (schema !== undefined && (schema === null || typeof schema !== 'object' || typeof schema.safeParse !== 'function')) {
    throw new TypeError(`${who}: schema must be a zod schema (with safeParse)`)
  }
  if (o.description !== undefined && typeof o.description !== 'string') throw new TypeError(`${who}: description must be a string`)
  if (o.sensitive !== undefined && typeof o.sensitive !== 'boolean') throw new TypeError(`${who}: sensitive must be a boolean`)
  if (o.onChange !== undefined && typeof o.onChange !== 'function') throw new TypeError(`${who}: onChange must be a function (newValue, oldValue)`)
}

/**
 * Marks a class field as a dynamic config value (store > environment variable > defaultValue).
 * @param {import('../../../index').DynamicConfigOptions} options
 */
function Config(options) {
  checkConfigOptions(options, '@Config')
  const opts = Object.freeze({ ...options })
  return function configDecorator(/** @type {any} */ target, /** @type {any} */ context) {
    if (context !== null && typeof context === 'object' && 'kind' in context) {
      if (context.kind !== 'field' || context.static || context.private) {
        throw new TypeError(
          `@Config({ key: ${JSON.stringify(opts.key)} }) decorates a public instance field, not a ${context.static ? 'static ' : ''}${context.private ? 'private ' : ''}${context.kind}`,
        )
      }
      const name = context.name
      /** @this {object} @param {unknown} initial */
      return function recordField(initial) {
        const fields = instanceFields.get(this) ?? new Map()
        fields.set(name, opts)
        instanceFields.set(this, fields)
        return initial
      }
    }
    if (target !== null && typeof target === 'object' && (typeof context === 'string' || typeof context === 'symbol')) {
      const clazz = target.constructor
      const fields = classFields.get(clazz) ?? new Map()
      fields.set(context, opts)
      classFields.set(clazz, fields)
      return undefined
    }
    throw new TypeError(`@Config({ key: ${JSON.stringify(opts.key)} }) decorates a class field`)
  }
}

/**
 * The `@Config` fields of a module instance: [field, options], inherited ones first.
 * @param {object} instance
 * @returns {[string | symbol, import('../../../index').DynamicConfigOptions][]}
 */
function configFieldsOf(instance) {
  const found = new Map()
  const chain = []
  for (let c = instance.constructor; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) chain.unshift(c)
  for (const c of chain) for (const [k, v] of classFields.get(c) ?? []) found.set(k, v)
  for (const [k, v] of instanceFields.get(instance) ?? []) found.set(k, v)
  return [...found]
}

module.exports = { Config, configFieldsOf, checkConfigOptions }
