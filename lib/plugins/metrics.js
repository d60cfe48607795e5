'use strict'

const { PluginPriority } = require('../priority')
const { nativeLayer, declareNative } = require('../native-layer')
const { routeFlag } = require('./overrides')

const PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/

function checkMetrics(value, where) {
  if (value !== undefined && typeof value !== 'boolean') return `${where} metrics must be a boolean`
  return true
}

function checkBuckets(buckets) {
  const ok =
    Array.isArray(buckets) &&
    buckets.length >= 1 &&
    buckets.length <= 64 &&
    buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > buckets[i - 1]))
  if (!ok) throw new TypeError('MetricsPlugin buckets must be 1 to 64 finite numbers (seconds), strictly increasing')
}

const flag = routeFlag({ key: 'metrics', check: checkMetrics })

/**
 * Prometheus metrics answered in Rust at `GET path`: request counts by
 * method, route and status, a latency histogram by method and route,
 * in-flight requests, requests received and JavaScript calls.
 *
 * Priority SYSTEM, so it is the outermost layer and times everything. Module
 * or route option `metrics: false` leaves those handlers out.
 */
class MetricsPlugin {
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('MetricsPlugin options must be an object')
    const { path = '/metrics', prefix = 'nebula_' } = options
    const buckets = options.buckets ?? [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    if (typeof path !== 'string' || !path.startsWith('/') || /[\s?#]/.test(path)) {
      throw new TypeError('MetricsPlugin path must be a path starting with "/"')
    }
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
      throw new TypeError('MetricsPlugin prefix must match [a-zA-Z_:][a-zA-Z0-9_:]* (or be empty)')
    }
    checkBuckets(buckets)
    this.name = 'metrics'
    this.priority = PluginPriority.SYSTEM
    this.options = Object.freeze({ path, prefix, buckets: Object.freeze([...buckets]) })
    this._modules = new Map()
    // Serves `path` even when no handler gets a metrics layer.
    declareNative(this, 'metrics', this.options)
  }

  getModuleOptionsSchema() {
    return { _type: {}, validate: flag.validateModule }
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m.options || {}]))
  }

  /** The layer a script-VM hook route gets (no module or route overrides). */
  hookLayer() {
    return { kind: 'metrics', pluginOptions: this.options, layerOptions: {} }
  }

  onHandlerLoad(handlers) {
    for (const h of handlers) {
      if (h.type !== 'route') continue
      h.wrap(nativeLayer(this, 'metrics', this.options, flag.layerOptions(this._modules.get(h.module), h)))
    }
  }
}

module.exports = { MetricsPlugin }
