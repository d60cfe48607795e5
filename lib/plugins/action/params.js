'use strict'

// An action's arguments and result checked by their zod schemas, and the
// failures worded as nebula-engine words them: `Validation failed: 参数[0].address.city:
// Invalid input: expected string, received undefined`, the offending value
// added to a type error (`…, received "abc"`).

const { coerceArgs } = require('./coerce')

/** @typedef {{ path?: PropertyKey[], message: string, code?: string }} Issue */
/** @typedef {{ safeParse(value: unknown): { success: true, data: unknown } | { success: false, error: { issues: Issue[] } } }} ZodLike */

/**
 * `value` at `path` inside `root` (undefined when anything on the way is missing).
 * @param {unknown} root
 * @param {readonly PropertyKey[]} path
 */
function valueAt(root, path) {
  let v = root
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = /** @type {any} */ (v)[key]
  }
  return v
}

/** JSON of a received value, never throwing (a BigInt, a cycle). */
function shown(value) {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * One issue as nebula words it.
 * @param {Issue} issue
 * @param {unknown} root what the paths start from
 * @param {(path: readonly PropertyKey[]) => string} name
 */
function describeIssue(issue, root, name) {
  const path = issue.path || []
  let detail = issue.message
  if (issue.code === 'invalid_type') {
    const actual = valueAt(root, path)
    if (actual !== undefined) detail = `${issue.message}, received ${shown(actual)}`
  }
  return `${name(path)}: ${detail}`
}

/** @param {readonly PropertyKey[]} path  e.g. ["0", "address", "city"] → 参数[0].address.city */
function argumentPath(path) {
  if (path.length === 0) return 'unknown'
  return path.map((p, i) => (i === 0 && typeof p === 'string' && /^\d+$/.test(p) ? `参数[${p}]` : String(p))).join('.')
}

/** @param {readonly PropertyKey[]} path */
function resultPath(path) {
  return path.length === 0 ? 'root' : path.map(String).join('.')
}

/**
 * Each argument checked by its schema (already coerced); the issues' paths start with the argument's index ("0", "1", …).
 * @param {readonly unknown[]} input
 * @param {readonly ZodLike[]} schemas
 * @returns {{ success: true, data: unknown[] } | { success: false, error: { issues: Issue[] } }}
 */
function validateArgs(input, schemas) {
  /** @type {Issue[]} */
  const issues = []
  const data = []
  for (let i = 0; i < schemas.length; i++) {
    const r = schemas[i].safeParse(input[i])
    if (r.success) {
      data.push(r.data)
    } else {
      for (const issue of r.error.issues || []) issues.push({ ...issue, path: [String(i), ...(issue.path || [])] })
    }
  }
  return issues.length === 0 ? { success: true, data } : { success: false, error: { issues } }
}

/**
 * The arguments of a call, coerced and checked.
 * @param {unknown} body `{"0": a, "1": b, …}` as received
 * @param {readonly ZodLike[]} schemas
 * @returns {{ ok: true, args: unknown[] } | { ok: false, error: string }}
 */
function parseArgs(body, schemas) {
  if (schemas.length === 0) return { ok: true, args: [] }
  const checked = validateArgs(coerceArgs(body, schemas), schemas)
  if (checked.success) return { ok: true, args: checked.data }
  /** @type {Record<string, unknown>} */
  const original = body !== null && typeof body === 'object' ? /** @type {Record<string, unknown>} */ (body) : {}
  return { ok: false, error: `Validation failed: ${checked.error.issues.map((e) => describeIssue(e, original, argumentPath)).join(', ')}` }
}

/**
 * A result checked by `returns`.
 * @param {unknown} result
 * @param {ZodLike} schema
 * @returns {{ ok: true, data: unknown } | { ok: false, error: string }}
 */
function checkResult(result, schema) {
  const r = schema.safeParse(result)
  if (r.success) return { ok: true, data: r.data }
  const issues = r.error.issues || []
  return { ok: false, error: `Return value validation failed: ${issues.map((e) => describeIssue(e, result, resultPath)).join(', ')}` }
}

/**
 * `{prefix}/{module}/{action}`, slashes collapsed (nebula's buildActionPath).
 * @param {string} prefix
 * @param {string} moduleName
 * @param {string} action
 */
function buildActionPath(prefix, moduleName, action) {
  const p = String(prefix || '').replace(/\/+$/, '')
  return `/${p}/${moduleName}/${action}`.replace(/\/+/g, '/')
}

module.exports = { parseArgs, validateArgs, checkResult, buildActionPath }
