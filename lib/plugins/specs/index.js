'use strict'

// The options of the native plugins, written once. Each spec is the source of
//   - the keys the plugin's JS check accepts, and the bounds, enums and
//     defaults it reads from `schema` (lib/plugins/<plugin>.js);
//   - the plugin's section of the config schema (`$defs[section]` in
//     schema/nebula.config.schema.json) and its options interface in
//     index.d.ts, both written by scripts/generate.mjs (`npm run gen`;
//     `npm run check:generated` fails when they differ from the specs).
// __test__/plugin-specs.test.ts checks that the Rust plugin (`kind`) reads
// the same keys with the same bounds and enums.
//
// A spec:
//   name     the class (or adapter) whose messages start with it ("CorsPlugin")
//   kind     the native plugin it configures ("cors"), if any
//   type     the options interface in index.d.ts ("CorsOptions")
//   typeDoc  that interface's doc comment, if any
//   section  the config schema's $defs entry ("cors"), if the config has one
//   options  key → { doc, schema, required?, ts? }, in the order the schema and the d.ts list them:
//     doc       one line for the d.ts and the schema's `description`
//     schema    the key's JSON schema (draft 2020-12, the subset lib/config/validate.js reads)
//     required  the key must be given
//     ts        its TypeScript type, when not the one the schema gives

const cors = require('./cors')
const compression = require('./compression')
const rateLimit = require('./rate-limit')
const jwtAuth = require('./jwt-auth')
const logger = require('./logger')
const metrics = require('./metrics')
const cache = require('./cache')

/** Every spec, in the order their sections appear in the config schema. */
const SPECS = [metrics, cors, jwtAuth, rateLimit, logger, cache.config, compression, cache.memory, cache.redis]

// Read by every plugin instance (defaults included): nothing may change them.
function deepFreeze(v) {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v)
    Object.values(v).forEach(deepFreeze)
  }
  return v
}
SPECS.forEach(deepFreeze)

/**
 * `options` without the keys given as undefined; a TypeError
 * (`<name>: unknown option "<key>"`) for a key `spec` does not list.
 */
function knownOptions(spec, options) {
  const out = {}
  for (const k of Object.keys(options)) {
    if (!Object.hasOwn(spec.options, k)) throw new TypeError(`${spec.name}: unknown option ${JSON.stringify(k)}`)
    if (options[k] !== undefined) out[k] = options[k]
  }
  return out
}

/** The schema of option `key` of `spec` (its bounds, enum, default). */
function optionSchema(spec, key) {
  const option = spec.options[key]
  if (!option) throw new Error(`${spec.name} has no option ${key}`)
  return option.schema
}

/** Option `key`'s default, as the schema states it. */
function defaultOf(spec, key) {
  return optionSchema(spec, key).default
}

module.exports = { SPECS, cors, compression, rateLimit, jwtAuth, logger, metrics, cache, knownOptions, optionSchema, defaultOf }
