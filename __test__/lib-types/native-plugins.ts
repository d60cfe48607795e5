// The same check (see face.ts) for the native route plugins, RoutePlugin and the
// cache: each class, typed from its JSDoc (the native ones through their shared
// base class's type parameters: name, priority, options), is what index.d.ts declares.
import type * as Api from '../../index'
import { RoutePlugin } from '../../lib/route-plugin.js'
import { RateLimitPlugin } from '../../lib/plugins/rate-limit.js'
import { JwtAuthPlugin } from '../../lib/plugins/jwt-auth.js'
import { CorsPlugin } from '../../lib/plugins/cors.js'
import { CompressionPlugin } from '../../lib/plugins/compression.js'
import { LoggerPlugin } from '../../lib/plugins/logger.js'
import { MetricsPlugin } from '../../lib/plugins/metrics.js'
import { CachePlugin, Cache, MemoryCacheAdapter, RedisCacheAdapter } from '../../lib/plugins/cache.js'

export const nativePlugins = {
  RoutePlugin: RoutePlugin satisfies typeof Api.RoutePlugin,
  RateLimitPlugin: RateLimitPlugin satisfies typeof Api.RateLimitPlugin,
  JwtAuthPlugin: JwtAuthPlugin satisfies typeof Api.JwtAuthPlugin,
  CorsPlugin: CorsPlugin satisfies typeof Api.CorsPlugin,
  CompressionPlugin: CompressionPlugin satisfies typeof Api.CompressionPlugin,
  LoggerPlugin: LoggerPlugin satisfies typeof Api.LoggerPlugin,
  MetricsPlugin: MetricsPlugin satisfies typeof Api.MetricsPlugin,
  CachePlugin: CachePlugin satisfies typeof Api.CachePlugin,
  Cache: Cache satisfies typeof Api.Cache,
  MemoryCacheAdapter: MemoryCacheAdapter satisfies typeof Api.MemoryCacheAdapter,
  RedisCacheAdapter: RedisCacheAdapter satisfies typeof Api.RedisCacheAdapter,
}
