'use strict'

// What the engine answers besides a handler's own result, as the document declares it: the
// `{error, message}` of a refused request (JwtAuthPlugin's 401/403, a handler's 500), the 400
// of route validation (crates/nebula-core/src/http/validate), the `{success: false, error}` of an
// action, and the bearer requirement of a handler JwtAuthPlugin guards.

const BEARER = 'bearerAuth'

const ERROR_SCHEMA = Object.freeze({
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
})

const VALIDATION_ERROR_SCHEMA = Object.freeze({
  type: 'object',
  description: 'The request does not match the route schemas: every violation (the first 100) is listed',
  properties: {
    error: { const: 'Bad Request' },
    message: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          in: { enum: ['body', 'query', 'params', 'headers'], description: 'The part of the request' },
          path: { type: 'string', description: 'JSON Pointer into that part ("" for the part itself)' },
          message: { type: 'string' },
        },
        required: ['in', 'path', 'message'],
      },
    },
  },
  required: ['error', 'message', 'errors'],
})

const ACTION_ERROR_SCHEMA = Object.freeze({
  type: 'object',
  properties: { success: { const: false }, error: { type: 'string' } },
  required: ['success', 'error'],
})

/** @param {unknown} schema */
const jsonOf = (schema) => ({ 'application/json': { schema } })

/** `["a", "b"]` → `a, b` */
const listed = (/** @type {string[]} */ names) => names.map((n) => JSON.stringify(n)).join(', ')

/**
 * Declares the bearer token `needs` asks for on `op` (nothing for a public handler): the
 * security requirement (every permission, and one of the roles: one alternative per role),
 * the `x-permissions` / `x-roles` it comes from, a sentence in the description, 401, and 403
 * when a permission or a role is needed.
 * @param {Record<string, any>} op
 * @param {import('./document').JwtNeeds | undefined} needs
 * @param {unknown} error the Error component's ref
 */
function secure(op, needs, error) {
  if (!needs) return
  const { permissions, roles } = needs
  op.security = roles.length > 0 ? roles.map((role) => ({ [BEARER]: [...permissions, role] })) : [{ [BEARER]: [...permissions] }]
  if (permissions.length > 0) op['x-permissions'] = permissions
  if (roles.length > 0) op['x-roles'] = roles
  const what = [permissions.length > 0 ? `every permission of ${listed(permissions)}` : '', roles.length > 0 ? `one of the roles ${listed(roles)}` : ''].filter(
    Boolean,
  )
  const sentence = `Needs a bearer token (JWT)${what.length > 0 ? ` with ${what.join(' and ')}` : ''}.`
  op.description = typeof op.description === 'string' ? `${op.description}\n\n${sentence}` : sentence
  op.responses['401'] = { description: 'No valid bearer token', content: jsonOf(error) }
  if (what.length > 0) op.responses['403'] = { description: 'The token lacks a permission or role', content: jsonOf(error) }
}

module.exports = { BEARER, ERROR_SCHEMA, VALIDATION_ERROR_SCHEMA, ACTION_ERROR_SCHEMA, jsonOf, secure }
