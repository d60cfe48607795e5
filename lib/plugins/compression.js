'use strict'

// CompressionPlugin: the JS face of the native "compression" plugin
// (src/plugins/compression.rs): gzip / brotli in Rust on the way out.

const { PluginPriority } = require('../priority')
const { reconfigureNative } = require('../reconfigure')
const { nativeLayer } = require('../native-layer')
const { overridable } = require('./overrides')

const KEYS = ['threshold', 'encodings', 'level']
const ENCODINGS = ['br', 'gzip']

/**
 * Validates compression options (throws a TypeError naming the option) and
 * returns them as plain JSON without the keys given as undefined.
 */
function checkCompressionOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('CompressionPlugin: options must be an object')
  }
  const out = {}
  for (const k of Object.keys(options)) {
    if (!KEYS.includes(k)) throw new TypeError(`CompressionPlugin: unknown option ${JSON.stringify(k)}`)
    if (options[k] !== undefined) out[k] = options[k]
  }
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
  if (out.level !== undefined && !(Number.isInteger(out.level) && out.level >= 1 && out.level <= 9)) {
    throw new TypeError('CompressionPlugin: level must be an integer from 1 to 9')
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
 */
class CompressionPlugin {
  constructor(options = {}) {
    this.options = checkCompressionOptions(options)
    this.name = 'compression'
    this.priority = PluginPriority.PERFORMANCE
    this._modules = new Map()
  }
  /**
   * New options while the engine serves: every route's layer changes at once (counters and
   * state start afresh). Throws a TypeError naming the option; nothing changes then.
   */
  reconfigure(options) {
    reconfigureNative(this, options)
  }


  getModuleOptionsSchema() {
    return { _type: {}, validate: overrides.validateModule(this.options) }
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m.options || {}]))
  }

  /** The layer a script-VM hook route gets: the plugin's own options. */
  hookLayer() {
    return { kind: 'compression', pluginOptions: this.options, layerOptions: this.options }
  }

  onHandlerLoad(handlers) {
    for (const h of handlers) {
      if (h.type !== 'route') continue
      const layerOptions = overrides.layerOptions(this.options, this._modules.get(h.module), h)
      if (layerOptions === undefined) continue
      h.wrap(nativeLayer(this, 'compression', this.options, layerOptions))
    }
  }
}

module.exports = { CompressionPlugin, checkCompressionOptions }
