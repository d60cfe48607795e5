'use strict'

// What starting an engine from a config refuses beyond the schema and the
// plugin classes' constructors (plugins.js), asked with the very calls the
// start makes, without starting anything:
//   - the engine options: `new Microservice(engineOptions(config))`, whose
//     resolveOptions() refuses e.g. a handlerTimeout of 0 or a blank name;
//   - the static mounts: the native engine's addStatic(), which refuses a
//     prefix with "..", "//", "%", spaces… (the rule lives in Rust, in
//     StaticFiles::new).
// loadConfig() runs these, so `nebula check`, `nebula start` and a reload
// refuse the same things with the same message.

const binding = require('../native')
const { Microservice } = require('../microservice')
const { ENGINE_KEYS } = require('./keys')

/** The options `new Microservice()` gets from a config. */
function engineOptions(config) {
  const options = { name: config.name, version: config.version, hostname: config.host }
  for (const k of ENGINE_KEYS) if (config[k] !== undefined) options[k] = config[k]
  if (config.static) options.static = config.static.map((s) => ({ ...s }))
  return options
}

/** "Microservice option "handlerTimeout" must be…" → { path: 'handlerTimeout', message: 'must be…' }. */
function engineError(err) {
  const text = String(err?.message ? err.message : err)
  const m = /^Microservice option "([^"]+)" (.*)$/s.exec(text)
  return m ? { path: m[1] === 'hostname' ? 'host' : m[1], message: m[2] } : { path: '', message: text }
}

/** A static mount as Microservice hands it to the native engine. */
const nativeMount = (s) => ({ prefix: s.prefix ?? '/', path: s.path, cache: s.cache })

/** The native refusal of static[i] as a config error. */
function staticError(at, err) {
  const text = String(err?.message ? err.message : err)
  const m = /^static: static\[\d+\]: invalid prefix: (.*)$/s.exec(text)
  if (m) return { path: `${at}.prefix`, message: `invalid prefix: ${m[1]}` }
  const cache = /^static [^:]*: (.*)$/s.exec(text)
  if (cache) return { path: `${at}.cache`, message: cache[1] }
  return { path: at, message: text.replace(/^static: static\[\d+\]\s*/, '') }
}

/**
 * Errors the start would meet in the engine options and the static mounts.
 * `staticAt(i)`: the config path of static[i]; `skip(at)`: a path already
 * reported (e.g. a missing folder), not asked again.
 */
function startErrors(config, { staticAt, skip }) {
  const errors = []
  const options = engineOptions(config)
  // A value the schema refused is reported once: the engine is asked about the others.
  for (const k of ['name', 'version']) if (skip(k)) options[k] = 'checked'
  for (const k of ENGINE_KEYS) if (skip(k)) delete options[k]
  if (skip('host')) delete options.hostname
  try {
    // eslint-disable-next-line no-new
    new Microservice(options)
  } catch (err) {
    errors.push(engineError(err))
  }
  ;(config.static || []).forEach((s, i) => {
    const at = staticAt(i)
    if (skip(at)) return
    try {
      // One mount per engine, so the error names this entry. Nothing is started: it is only checked.
      new binding.NativeEngine({}).addStatic([nativeMount(s)])
    } catch (err) {
      errors.push(staticError(at, err))
    }
  })
  return errors
}

module.exports = { startErrors, engineOptions }
