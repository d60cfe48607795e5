'use strict'

// Cuts a streamed action's body into its EJSON objects: they follow each
// other with nothing (or only white space) between them, and a chunk may end
// in the middle of one. Braces are matched outside strings, as nebula's
// client does.

const ejson = require('ejson')

/**
 * The first complete object of `buf` and what follows it; null when `buf` holds no complete object yet.
 * @param {string} buf
 * @returns {{ data: any, remaining: string } | null}
 */
function takeFrame(buf) {
  let start = 0
  while (start < buf.length && /\s/.test(buf[start])) start++
  if (start >= buf.length) return null
  const open = buf[start]
  if (open !== '{' && open !== '[') throw new SyntaxError(`a stream frame must start with { or [, not ${JSON.stringify(buf.slice(start, start + 20))}`)
  const close = open === '{' ? '}' : ']'
  let depth = 0
  let inString = false
  for (let i = start; i < buf.length; i++) {
    const c = buf[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    else if (c === open) depth++
    else if (c === close && --depth === 0) {
      return { data: ejson.parse(buf.slice(start, i + 1)), remaining: buf.slice(i + 1) }
    }
  }
  return null
}

module.exports = { takeFrame }
