'use strict'

// The two operations of an action (ActionPlugin serves both): POST with the arguments as an
// (E)JSON body `{"0": a, "1": b}`, GET with them in the query `?0=a&1=b`; the answer
// `{success: true, data}`, or `{success: false, error}` with 400 (an argument or the result
// does not match its schema, a malformed body) or 500 (the method threw); a streamed action
// answers a text/event-stream of EJSON frames.

const { jsonOf } = require('./shapes')

/**
 * The frames of a streamed action's body (lib/plugins/action/stream.js writes them).
 * @param {unknown} value the schema of each item
 */
function frameSchema(value) {
  return {
    description:
      'EJSON objects one after another (nothing between them): {"value": item, "done": false} per item, then {"done": true}, or {"error": message, "done": true} when the stream fails',
    anyOf: [
      { type: 'object', properties: { value, done: { const: false } }, required: ['done'] },
      { type: 'object', properties: { done: { const: true } }, required: ['done'] },
      { type: 'object', properties: { error: { type: 'string' }, done: { const: true } }, required: ['error', 'done'] },
    ],
  }
}

/**
 * @param {import('./document').ActionInfo} action
 * @param {import('./components').Components} components
 * @param {{ ActionError: unknown }} refs
 * @returns {{ post: Record<string, any>, get: Record<string, any> }}
 */
function actionOperations(action, components, refs) {
  const base = `${action.module}.${action.methodName}`
  const args = action.args.map((a, i) => ({ schema: components.adopt(a.schema, `${base}.arg${i}`).use, required: a.required }))
  const returns = action.returns === undefined ? undefined : components.adopt(action.returns, `${base}.returns`).use
  /** @type {Record<string, unknown>} */
  const responses = {}
  if (action.stream) {
    responses['200'] = { description: 'A stream of EJSON frames', content: { 'text/event-stream': { schema: frameSchema(returns ?? {}) } } }
  } else {
    const data = returns ?? {}
    responses['200'] = { description: 'OK', content: jsonOf({ type: 'object', properties: { success: { const: true }, data }, required: ['success'] }) }
  }
  responses['400'] = {
    description: 'An argument does not match its schema, the body is not EJSON, or the result does not match `returns`',
    content: jsonOf(refs.ActionError),
  }
  responses['500'] = { description: 'The action failed', content: jsonOf(refs.ActionError) }

  const common = () => {
    /** @type {Record<string, any>} */
    const op = { operationId: '', tags: [action.module] }
    if (action.description !== undefined) {
      op.summary = action.description
      op.description = action.description
    }
    return op
  }
  const post = common()
  if (args.length > 0) {
    /** @type {Record<string, unknown>} */
    const properties = {}
    args.forEach((a, i) => {
      properties[String(i)] = a.schema
    })
    const required = args.flatMap((a, i) => (a.required ? [String(i)] : []))
    const body = {
      type: 'object',
      description: 'The arguments by position (EJSON): {"0": first, "1": second, …}',
      properties,
      ...(required.length > 0 ? { required } : {}),
    }
    post.requestBody = { required: required.length > 0, content: { 'application/json': { schema: body }, 'application/ejson': { schema: body } } }
  }
  post.responses = { ...responses }

  const get = common()
  if (args.length > 0) {
    get.parameters = args.map((a, i) => ({
      name: String(i),
      in: 'query',
      required: a.required,
      description: `Argument ${i}, as text: a number or a boolean is read from it (an object or an array needs POST)`,
      schema: a.schema,
    }))
  }
  get.responses = { ...responses }
  return { post, get }
}

module.exports = { actionOperations }
