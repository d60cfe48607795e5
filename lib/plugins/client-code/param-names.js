'use strict'

// The parameter names of a method, read from its source (what the generated
// client names its arguments): `createUser(name, age = 0)` → ["name", "age"].
// A parameter that is not a plain name (destructured, a rest parameter) has
// no name here: the generator falls back to the schema's description or argN.

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/**
 * The text between the parameter list's parentheses.
 * @param {string} source
 */
function parameterList(source) {
  const open = source.indexOf('(')
  if (open === -1) return ''
  let depth = 0
  for (let i = open; i < source.length; i++) {
    const c = source[i]
    if (c === '(' || c === '[' || c === '{') depth++
    else if (c === ')' || c === ']' || c === '}') {
      depth--
      if (depth === 0) return source.slice(open + 1, i)
    }
  }
  return ''
}

/**
 * Splits on the commas at depth 0 (not those of a default value's object or call).
 * @param {string} list
 */
function topLevelParts(list) {
  const parts = []
  let depth = 0
  let start = 0
  for (let i = 0; i < list.length; i++) {
    const c = list[i]
    if (c === '(' || c === '[' || c === '{') depth++
    else if (c === ')' || c === ']' || c === '}') depth--
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(start, i))
      start = i + 1
    }
  }
  parts.push(list.slice(start))
  return parts
}

/**
 * @param {Function} fn
 * @returns {(string | undefined)[]}
 */
function parameterNames(fn) {
  let source
  try {
    source = Function.prototype.toString.call(fn)
  } catch {
    return []
  }
  const list = parameterList(source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, ''))
  if (list.trim() === '') return []
  return topLevelParts(list).map((part) => {
    const name = part.split('=')[0].trim()
    return IDENTIFIER.test(name) ? name : undefined
  })
}

module.exports = { parameterNames }
