'use strict'

// The TypeScript client of a service's actions (nebula's generated client.ts):
// one interface per module (`UserServiceModule`, a method per action with its
// parameter names and zod-derived types) and a `MicroserviceClient` class
// with one property per module (`userService`), built on `nebula-native/client`.
// The output compiles with `tsc --strict`.

const { getZodTypeString } = require('./zod-type')
const { inputType, typeOf } = require('./routes')

const CLIENT_MODULE = 'nebula-native/client'
const HEADER = '// 这个文件是自动生成的，请不要手动修改'
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/
const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null ' +
    'return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await'
  ).split(' '),
)

/**
 * @typedef {object} ActionInfo
 * @property {string} [description]
 * @property {any[]} params zod schemas, one per argument
 * @property {any} [returns]
 * @property {boolean} [stream]
 * @property {boolean} [idempotence]
 * @property {(string | undefined)[]} [paramNames]
 */
/** @typedef {{ name: string, actions: Record<string, ActionInfo> }} ModuleInfo */

/** @param {string} name  "user-service" → ["user", "service"] */
const words = (name) => name.split(/[^A-Za-z0-9_$]+/).filter(Boolean)
const capital = (/** @type {string} */ w) => w.charAt(0).toUpperCase() + w.slice(1)

/** @param {string} name "user-service" → "UserService" */
function toPascalCase(name) {
  const id = words(name).map(capital).join('')
  return /^[0-9]/.test(id) || id === '' ? `M${id}` : id
}

/** @param {string} name "user-service" → "userService" */
function toCamelCase(name) {
  const [first = '', ...rest] = words(name)
  const id = first + rest.map(capital).join('')
  return /^[0-9]/.test(id) || id === '' || RESERVED.has(id) ? `m${capital(id)}` : id
}

/** @param {string} key */
const member = (key) => (IDENTIFIER.test(key) ? key : JSON.stringify(key))

/** @param {string} text a description, safe inside a JSDoc comment */
const commentText = (text) => text.replace(/\*\//g, '*\\/').replace(/\r?\n/g, '\n   * ')

/**
 * The parameter list of one action: names from the method, else the schema's description, else argN.
 * An optional parameter before a required one is written `x: T | undefined` (TypeScript allows no `x?` there).
 * @param {ActionInfo} action
 */
function parameters(action) {
  const names = action.paramNames || []
  const used = new Set()
  const list = action.params.map((param, i) => {
    let name = names[i] || (typeof param?.description === 'string' ? param.description : undefined) || `arg${i}`
    if (!IDENTIFIER.test(name) || RESERVED.has(name) || used.has(name)) name = `arg${i}`
    used.add(name)
    let optional = false
    try {
      optional = typeof param.isOptional === 'function' && param.isOptional() === true
    } catch {
      optional = false
    }
    const kind = (param?._def ?? param?.def)?.type
    return { name, optional: optional || kind === 'default', type: getZodTypeString(param, true) }
  })
  let requiredAfter = false
  for (let i = list.length - 1; i >= 0; i--) {
    const p = list[i]
    if (!p.optional) requiredAfter = true
    else if (requiredAfter) {
      p.optional = false
      p.type = `${p.type} | undefined`
    }
  }
  return list.map((p) => `${p.name}${p.optional ? '?' : ''}: ${p.type}`).join(', ')
}

/**
 * @param {string} actionName
 * @param {ActionInfo} action
 */
function methodSignature(actionName, action) {
  if (!action.params) throw new Error(`Missing params for action ${actionName}`)
  // Without `returns`: nebula's `void` for a call; the values of a stream are `unknown`.
  const result = action.returns ? getZodTypeString(action.returns) : action.stream ? 'unknown' : 'void'
  const promised = action.stream ? `AsyncIterable<${result}>` : result
  const signature = `  ${member(actionName)}: (${parameters(action)}) => Promise<${promised}>;`
  if (!action.description) return signature
  return [`  /**`, `   * ${commentText(action.description)}`, `   */`, signature].join('\n')
}

/**
 * One route's function in its module's `…Routes` interface.
 * @param {import('./routes').RouteInfo} r
 */
function routeSignature(r) {
  const input = inputType(r)
  const result = r.response === undefined ? 'unknown' : typeOf(r.response)
  const signature = `  ${member(r.name)}: (input${input.required ? '' : '?'}: ${input.type}) => Promise<${result}>;`
  const about = `${r.method} ${r.path}${r.description ? `: ${r.description}` : ''}`
  return [`  /**`, `   * ${commentText(about)}`, `   */`, signature].join('\n')
}

/**
 * The schema'd routes by module: their interfaces and the `routes` property.
 * @param {import('./routes').RouteInfo[]} routes
 */
function routeParts(routes) {
  /** @type {Map<string, import('./routes').RouteInfo[]>} */
  const byModule = new Map()
  for (const r of routes) {
    const list = byModule.get(r.module) ?? []
    if (!list.some((x) => x.name === r.name)) list.push(r)
    byModule.set(r.module, list)
  }
  const interfaces = []
  const members = []
  const values = []
  for (const [name, list] of byModule) {
    const iface = `${toPascalCase(name)}Routes`
    interfaces.push(`export interface ${iface} {`, list.map(routeSignature).join('\n\n'), '}', '')
    members.push(`${toCamelCase(name)}: ${iface}`)
    values.push(
      `    ${toCamelCase(name)}: {`,
      ...list.map((r) => `      ${member(r.name)}: { method: ${JSON.stringify(r.method)}, path: ${JSON.stringify(r.path)} },`),
      '    },',
    )
  }
  if (members.length === 0) return { interfaces, property: [] }
  const property = ['', `  public readonly routes = this.registerRoutes<{ ${members.join('; ')} }>({`, ...values, '  });']
  return { interfaces, property }
}

/**
 * @param {Record<string, ModuleInfo>} modules by module name
 * @param {{ prefix?: string, routes?: import('./routes').RouteInfo[] }} [options] the engine's prefix (the client's default), the schema'd routes
 * @returns {string}
 */
function generateClientCode(modules, options = {}) {
  const served = Object.entries(modules).filter(([, m]) => Object.keys(m.actions).length > 0)
  const out = [
    HEADER,
    '',
    `import { MicroserviceClient as BaseMicroserviceClient } from ${JSON.stringify(CLIENT_MODULE)};`,
    `import type { ClientConfig } from ${JSON.stringify(CLIENT_MODULE)};`,
    `export * from ${JSON.stringify(CLIENT_MODULE)};`,
    '',
  ]
  for (const [name, m] of served) {
    out.push(`export interface ${toPascalCase(name)}Module {`)
    out.push(
      Object.entries(m.actions)
        .map(([actionName, action]) => methodSignature(actionName, action))
        .join('\n\n'),
    )
    out.push('}', '')
  }
  const routes = routeParts(options.routes ?? [])
  out.push(...routes.interfaces)
  out.push('export class MicroserviceClient extends BaseMicroserviceClient {')
  out.push('  constructor(options: ClientConfig) {')
  out.push(`    super({ prefix: ${JSON.stringify(options.prefix ?? '')}, ...options });`)
  out.push('  }')
  for (const [name, m] of served) {
    const methods = Object.entries(m.actions).map(
      ([actionName, a]) => `    ${member(actionName)}: { idempotent: ${Boolean(a.idempotence)}, stream: ${Boolean(a.stream)} },`,
    )
    out.push('', `  public readonly ${toCamelCase(name)} = this.registerModule<${toPascalCase(name)}Module>(${JSON.stringify(name)}, {`, ...methods, '  });')
  }
  out.push(...routes.property)
  out.push('}', '')
  return out.join('\n')
}

module.exports = { generateClientCode, getZodTypeString, toPascalCase, toCamelCase }
