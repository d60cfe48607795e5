'use strict'

// JSON text → value, with a syntax error reported as a ConfigError giving the
// line and column (V8 says "at position N" only for some errors). Needs
// nothing else: `nebula stop` and `nebula status` use it without the addon.

const { ConfigError } = require('./errors')

/** Offset of a JSON syntax error: V8 says "at position N" only for some errors. */
function errorOffset(text, message) {
  const m = /at position (\d+)/.exec(message)
  if (m) return Number(m[1])
  if (/end of JSON input/.test(message)) return text.length
  // The shortest prefix that fails for another reason than ending early.
  const failsEarly = (prefix) => {
    try {
      JSON.parse(prefix)
      return false
    } catch (err) {
      // "…at position N" with N at the end of the prefix also means it ended early.
      const at = /at position (\d+)/.exec(err.message)
      return at ? Number(at[1]) < prefix.length : !/end of JSON input/.test(err.message)
    }
  }
  let lo = 0
  let hi = text.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (failsEarly(text.slice(0, mid + 1))) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** Deeper than any config needs (they nest 5 levels); checks and the addon recurse on what they get. */
const MAX_DEPTH = 64

/** The nesting depth of a parsed value, measured without recursion (up to `limit` + 1). */
function depthOf(value, limit) {
  let level = [value]
  let depth = 0
  while (level.length > 0 && depth <= limit) {
    const next = []
    for (const v of level) {
      if (v !== null && typeof v === 'object') for (const child of Object.values(v)) if (child !== null && typeof child === 'object') next.push(child)
    }
    depth++
    level = next
  }
  return depth
}

function parseJson(text, file) {
  // A UTF-8 byte order mark (some Windows editors write one) is not part of the JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  let value
  try {
    value = JSON.parse(text)
  } catch (err) {
    const offset = Math.min(errorOffset(text, err.message), text.length)
    const before = text.slice(0, offset).split('\n')
    const reason = err.message
      .replace(/,\s*".*" is not valid JSON$/s, '')
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/^Unexpected end of JSON input$/, 'unexpected end of file')
    const where = `line ${before.length}, column ${before[before.length - 1].length + 1}`
    throw new ConfigError(file, [{ path: '', message: `invalid JSON at ${where}: ${reason}` }])
  }
  if (depthOf(value, MAX_DEPTH) > MAX_DEPTH) {
    throw new ConfigError(file, [{ path: '', message: `nested more than ${MAX_DEPTH} levels deep: not a config file` }])
  }
  return value
}

module.exports = { parseJson, MAX_DEPTH }
