'use strict'

// The `plugins` section: config key → built-in plugin class. Registration
// follows this table's order, which is what the plugins' docs ask for among
// equal priorities (CORS before auth, JWT before a claim-keyed rate limit,
// the cache before compression). Options are checked by constructing the
// plugin: its constructor throws a TypeError naming the option.

const { RateLimitPlugin } = require('../plugins/rate-limit')
const { JwtAuthPlugin } = require('../plugins/jwt-auth')
const { CorsPlugin } = require('../plugins/cors')
const { CompressionPlugin } = require('../plugins/compression')
const { LoggerPlugin } = require('../plugins/logger')
const { MetricsPlugin } = require('../plugins/metrics')
const { CachePlugin, MemoryCacheAdapter, RedisCacheAdapter } = require('../plugins/cache')
const { GracefulShutdownPlugin } = require('../plugins/graceful-shutdown')
const { SchedulePlugin } = require('../plugins/schedule')
const { ConcurrencyLockPlugin } = require('../plugins/concurrency-lock')
const { RoutePlugin } = require('../route-plugin')
const { HubPlugin } = require('../hub/plugin')
const { JsvmPlugin } = require('../jsvm/plugin')

/** `{ store: "memory" | "redis", …adapter options }` → the adapter CachePlugin takes. */
function cacheAdapter({ store = 'memory', ...rest }) {
  return store === 'redis' ? new RedisCacheAdapter(rest) : new MemoryCacheAdapter(rest)
}

/**
 * key → { Class, arg(options) }: `arg` turns the config's options into what
 * the constructor (and `reconfigure`, when the class has it) takes.
 */
const PLUGINS = {
  metrics: { Class: MetricsPlugin },
  gracefulShutdown: { Class: GracefulShutdownPlugin },
  cors: { Class: CorsPlugin },
  jwtAuth: { Class: JwtAuthPlugin },
  rateLimit: { Class: RateLimitPlugin },
  logger: { Class: LoggerPlugin },
  cache: { Class: CachePlugin, arg: cacheAdapter },
  compression: { Class: CompressionPlugin },
  schedule: { Class: SchedulePlugin },
  concurrencyLock: { Class: ConcurrencyLockPlugin },
  route: { Class: RoutePlugin },
}

const PLUGIN_KEYS = Object.keys(PLUGINS)

/** What the plugin's constructor (and reconfigure) takes for these config options. */
function pluginArg(key, options) {
  const spec = PLUGINS[key]
  return spec.arg ? spec.arg(options) : options
}

function createPlugin(key, options) {
  return new PLUGINS[key].Class(pluginArg(key, options))
}

/**
 * A plugin class's own error as a config error: "RateLimitPlugin: key.header must be…"
 * → { path: `${at}.key.header`, message: "must be…" } when the message starts with a
 * field, else { path: at, message }.
 */
function errorAt(at, err) {
  const text = String(err?.message ? err.message : err)
    .replace(/^[A-Z]\w*(Plugin|Adapter)(:\s*|\s+(?=[a-z]))/, '')
    .replace(/^(hub|jsvm|services)(:\s*|\s+(?=\w+:))/, '')
  const field = '([A-Za-z_$][\\w$]*(?:\\.[A-Za-z_$][\\w$]*|\\[\\d+\\])*)'
  // "key.header: must be…", "key.header must be…", 'origins[0] "x" is not…': the field, then the problem.
  const m = new RegExp(`^${field}:\\s+(.*)$`, 's').exec(text) || new RegExp(`^${field}\\s+((?:must|is|needs)\\b.*|".*)$`, 's').exec(text)
  if (m) return { path: at ? `${at}.${m[1]}` : m[1], message: m[2] }
  return { path: at, message: text }
}

/** Errors of the plugin options the schema let through (checked by constructing the plugins). */
function checkPlugins(plugins, hub, jsvm) {
  const errors = []
  const attempt = (at, make) => {
    try {
      make()
    } catch (err) {
      errors.push(errorAt(at, err))
    }
  }
  for (const [key, options] of Object.entries(plugins)) attempt(`plugins.${key}`, () => createPlugin(key, options))
  if (hub) attempt('hub', () => new HubPlugin(hub))
  if (jsvm) attempt('jsvm', () => new JsvmPlugin(jsvm))
  return errors
}

module.exports = { PLUGINS, PLUGIN_KEYS, createPlugin, pluginArg, checkPlugins, errorAt }
