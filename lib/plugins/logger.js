'use strict'

const { PluginPriority } = require('../priority')
const { reconfigureNative } = require('../reconfigure')
const { nativeLayer } = require('../native-layer')
const { routeFlag } = require('./overrides')

const FORMATS = ['json', 'pretty']
const OUTPUTS = ['stdout', 'stderr']
/** An HTTP token (RFC 9110 field name). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function checkAccessLog(value, where) {
  if (value !== undefined && typeof value !== 'boolean') return `${where} accessLog must be a boolean`
  return true
}

const flag = routeFlag({ key: 'accessLog', check: checkAccessLog })

/**
 * Structured access log written from Rust (one line per answered request,
 * JSON or pretty, to stdout or stderr, through a non-blocking writer), and
 * `X-Request-Id` propagated or generated (`ctx.get("requestId")` in handlers).
 *
 * Module or route option `accessLog: false` silences the log for those
 * handlers (the request id is still set).
 */
class LoggerPlugin {
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('LoggerPlugin options must be an object')
    const { format = 'json', requestIdHeader = 'x-request-id', output = 'stdout' } = options
    if (!FORMATS.includes(format)) throw new TypeError('LoggerPlugin format must be "json" or "pretty"')
    if (typeof requestIdHeader !== 'string' || !HEADER_NAME.test(requestIdHeader)) {
      throw new TypeError('LoggerPlugin requestIdHeader must be a valid header name')
    }
    if (!OUTPUTS.includes(output)) throw new TypeError('LoggerPlugin output must be "stdout" or "stderr"')
    this.name = 'logger'
    this.priority = PluginPriority.LOGGING
    this.options = Object.freeze({ format, requestIdHeader: requestIdHeader.toLowerCase(), output })
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
    return { _type: {}, validate: flag.validateModule }
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m.options || {}]))
  }

  /** The layer a script-VM hook route gets (no module or route overrides). */
  hookLayer() {
    return { kind: 'logger', pluginOptions: this.options, layerOptions: {} }
  }

  onHandlerLoad(handlers) {
    for (const h of handlers) {
      if (h.type !== 'route') continue
      h.wrap(nativeLayer(this, 'logger', this.options, flag.layerOptions(this._modules.get(h.module), h)))
    }
  }
}

module.exports = { LoggerPlugin }
