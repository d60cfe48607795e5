'use strict'

// CompressionPlugin: the JS face of the native "compression" plugin
// (crates/nebula-core/src/plugins/compression.rs): gzip / brotli in Rust on the way out.

const { PluginPriority } = require('../priority')
const { ReconfigurableNativeRoutePlugin, moduleOptions } = require('./native-route-plugin')
const { overridable } = require('./overrides')
const { compression: SPEC, knownOptions, optionSchema } = require('./specs')

const ENCODINGS = optionSchema(SPEC, 'encodings').items.enum
const LEVEL = optionSchema(SPEC, 'level')

/**
 * Validates compression options (throws a TypeError naming the option) and
 * returns them as plain JSON without the keys given as undefined.
 * @returns {import('../../index').CompressionOptions}
 */
function checkCompressionOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('CompressionPlugin: options must be an object')
  }
  const out = knownOptions(SPEC, options)
  if (out.threshold !== undefined && !(Number.isSafeInteger(out.threshold) && out.threshold >= 0)) {
    throw new TypeError('CompressionPlugin: threshold must be a non-negative integer (bytes)')
  }
  if (out.encodings !== undefined) {
    if (!Array.isArray(out.encodings)) throw new TypeError('CompressionPlugin: encodings must be an array of "br" and/or "gzip"')
    if (out.encodings.length === 0) throw new TypeError('CompressionPlugin: encodings must not be empty')
    out.encodings.forEach((e, i) => {
      if (!ENCODINGS.includes(e)) {
        throw new TypeError(`CompressionPlugin: encodings[${i}] must be "br" or "gzip", got ${JSON.stringify(e)}`)
      }
      if (out.encodings.indexOf(e) !== i) throw new TypeError(`CompressionPlugin: encodings[${i}] repeats "${e}"`)
    })
  }
  if (out.level !== undefined && !(Number.isInteger(out.level) && out.level >= LEVEL.minimum && out.level <= LEVEL.maximum)) {
    throw new TypeError(`CompressionPlugin: level must be an integer from ${LEVEL.minimum} to ${LEVEL.maximum}`)
  }
  return out
}

const overrides = overridable({ plugin: 'CompressionPlugin', key: 'compression', what: 'compression options', check: checkCompressionOptions })

/**
 * Compresses answers in Rust (priority PERFORMANCE): gzip or brotli when the
 * body is at least `threshold` bytes, its type is compressible and the client
 * accepts it. Per module (`@Module(name, { compression })`) and per route
 * (`@Route({ compression })`): `false` turns it off, an object overrides
 * options (route over module).
 * @extends {ReconfigurableNativeRoutePlugin<'compression', typeof PluginPriority.PERFORMANCE, import('../../index').CompressionOptions>}
 */
class CompressionPlugin extends ReconfigurableNativeRoutePlugin {
  /** @param {import('../../index').CompressionOptions} [options] */
  constructor(options = {}) {
    super({ name: 'compression', priority: PluginPriority.PERFORMANCE, kind: SPEC.kind, options: checkCompressionOptions(options) })
  }

  validateModule(options) {
    return overrides.validateModule(this.options)(options)
  }

  layerOptions(h, module) {
    return overrides.layerOptions(this.options, moduleOptions(module), h)
  }
}

module.exports = { CompressionPlugin, checkCompressionOptions }
