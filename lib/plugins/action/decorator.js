'use strict'

const { Handler } = require('../../decorators')

/** @param {unknown} s */
const isSchema = (s) => s !== null && typeof s === 'object' && typeof (/** @type {any} */ (s).safeParse) === 'function'

/**
 * Checks `@Action` options where they are written, so a mistake fails at import, not at the first call.
 * @param {unknown} options
 * @returns {import('../../../index').ActionOptions}
 */
function checkActionOptions(options) {
  const who = '@Action'
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${who}: options must be an object { params: [zod schemas], returns?, stream?, idempotence?, description?, middlewares? }`)
  }
  const o = /** @type {Record<string, unknown>} */ (options)
  const params = o.params === undefined ? [] : o.params
  if (!Array.isArray(params)) throw new TypeError(`${who}: params must be an array of zod schemas, one per argument`)
  params.forEach((p, i) => {
    if (!isSchema(p)) throw new TypeError(`${who}: params[${i}] is not a zod schema (it has no safeParse)`)
  })
  if (o.returns !== undefined && !isSchema(o.returns)) throw new TypeError(`${who}: returns must be a zod schema`)
  for (const flag of ['stream', 'idempotence']) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new TypeError(`${who}: ${flag} must be a boolean`)
  }
  if (o.description !== undefined && typeof o.description !== 'string') throw new TypeError(`${who}: description must be a string`)
  const mws = o.middlewares
  if (mws !== undefined && (!Array.isArray(mws) || mws.some((m) => typeof m !== 'function'))) {
    throw new TypeError(`${who}: middlewares must be an array of functions (ctx, next) => …`)
  }
  return /** @type {import('../../../index').ActionOptions} */ ({ ...o, params })
}

/**
 * Marks a module method as an action (nebula-engine's `@Action`): served by
 * ActionPlugin on GET and POST `{prefix}/{module}/{method}`, its positional
 * arguments checked by `params`.
 * @param {import('../../../index').ActionOptions} options
 */
function Action(options) {
  return Handler({ type: 'action', options: checkActionOptions(options) })
}

module.exports = { Action, checkActionOptions }
