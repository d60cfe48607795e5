'use strict'

const { PluginPriority } = require('../priority')
const { ReconfigurableNativeRoutePlugin, moduleOptions } = require('./native-route-plugin')
const { routeFlag } = require('./overrides')
const { logger: SPEC, optionSchema, defaultOf } = require('./specs')

const FORMATS = optionSchema(SPEC, 'format').enum
const OUTPUTS = optionSchema(SPEC, 'output').enum
/** An HTTP token (RFC 9110 field name). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function checkAccessLog(value, where) {
  if (value !== undefined && typeof value !== 'boolean') return `${where} accessLog must be a boolean`
  return true
}

const flag = routeFlag({ key: 'accessLog', check: checkAccessLog })

/**
 * Validates the plugin options (a TypeError naming the option) and returns
 * them with defaults. Keys the plugin does not read are ignored.
 * @returns {Readonly<Required<import('../../index').LoggerPluginOptions>>}
 */
function checkLoggerOptions(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('LoggerPlugin options must be an object')
  const { format = defaultOf(SPEC, 'format'), requestIdHeader = defaultOf(SPEC, 'requestIdHeader'), output = defaultOf(SPEC, 'output') } = options
  if (!FORMATS.includes(format)) throw new TypeError('LoggerPlugin format must be "json" or "pretty"')
  if (typeof requestIdHeader !== 'string' || !HEADER_NAME.test(requestIdHeader)) {
    throw new TypeError('LoggerPlugin requestIdHeader must be a valid header name')
  }
  if (!OUTPUTS.includes(output)) throw new TypeError('LoggerPlugin output must be "stdout" or "stderr"')
  return Object.freeze({ format, requestIdHeader: requestIdHeader.toLowerCase(), output })
}

/**
 * Structured access log written from Rust (one line per answered request,
 * JSON or pretty, to stdout or stderr, through a non-blocking writer), and
 * `X-Request-Id` propagated or generated (`ctx.get("requestId")` in handlers).
 *
 * Module or route option `accessLog: false` silences the log for those
 * handlers (the request id is still set).
 * @extends {ReconfigurableNativeRoutePlugin<'logger', typeof PluginPriority.LOGGING, Readonly<Required<import('../../index').LoggerPluginOptions>>>}
 */
class LoggerPlugin extends ReconfigurableNativeRoutePlugin {
  /** @param {import('../../index').LoggerPluginOptions} [options] */
  constructor(options = {}) {
    super({ name: 'logger', priority: PluginPriority.LOGGING, kind: SPEC.kind, options: checkLoggerOptions(options) })
  }

  validateModule(options) {
    return flag.validateModule(options)
  }

  /** No module or route overrides on a hook route. */
  hookLayerOptions() {
    return {}
  }

  layerOptions(h, module) {
    return flag.layerOptions(moduleOptions(module), h)
  }
}

module.exports = { LoggerPlugin }
