'use strict'

const { PluginPriority } = require('../priority')
const { declareNative } = require('../native-layer')
const { NativeRoutePlugin, moduleOptions } = require('./native-route-plugin')
const { routeFlag } = require('./overrides')
const { metrics: SPEC, optionSchema, defaultOf } = require('./specs')

const BUCKETS = optionSchema(SPEC, 'buckets')

const PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/

function checkMetrics(value, where) {
  if (value !== undefined && typeof value !== 'boolean') return `${where} metrics must be a boolean`
  return true
}

function checkBuckets(buckets) {
  const ok =
    Array.isArray(buckets) &&
    buckets.length >= BUCKETS.minItems &&
    buckets.length <= BUCKETS.maxItems &&
    buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > buckets[i - 1]))
  if (!ok) {
    throw new TypeError(`MetricsPlugin buckets must be ${BUCKETS.minItems} to ${BUCKETS.maxItems} finite numbers (seconds), strictly increasing`)
  }
}

/**
 * Validates the plugin options (a TypeError naming the option) and returns them with defaults. Keys the plugin does not read are ignored.
 * @returns {import('../../index').MetricsPlugin['options']}
 */
function checkMetricsOptions(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('MetricsPlugin options must be an object')
  const { path = defaultOf(SPEC, 'path'), prefix = defaultOf(SPEC, 'prefix') } = options
  const buckets = options.buckets ?? defaultOf(SPEC, 'buckets')
  if (typeof path !== 'string' || !path.startsWith('/') || /[\s?#]/.test(path)) {
    throw new TypeError('MetricsPlugin path must be a path starting with "/"')
  }
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new TypeError('MetricsPlugin prefix must match [a-zA-Z_:][a-zA-Z0-9_:]* (or be empty)')
  }
  checkBuckets(buckets)
  return Object.freeze({ path, prefix, buckets: Object.freeze([...buckets]) })
}

const flag = routeFlag({ key: 'metrics', check: checkMetrics })

/**
 * Prometheus metrics answered in Rust at `GET path`: request counts by
 * method, route and status, a latency histogram by method and route,
 * in-flight requests, requests received and JavaScript calls.
 *
 * Priority SYSTEM, so it is the outermost layer and times everything. Module
 * or route option `metrics: false` leaves those handlers out.
 * @extends {NativeRoutePlugin<'metrics', typeof PluginPriority.SYSTEM, import('../../index').MetricsPlugin['options']>}
 */
class MetricsPlugin extends NativeRoutePlugin {
  /** @param {import('../../index').MetricsPluginOptions} [options] */
  constructor(options = {}) {
    super({ name: 'metrics', priority: PluginPriority.SYSTEM, kind: SPEC.kind, options: checkMetricsOptions(options) })
    // Serves `path` even when no handler gets a metrics layer.
    declareNative(this, SPEC.kind, this.options)
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

module.exports = { MetricsPlugin }
