'use strict'

// CachePlugin's stores (the native "cache" plugin): the options of each
// adapter class, and the config's `plugins.cache` section, which is the store
// and its adapter's options. See ./index.js for the spec's shape.

const memory = {
  name: 'MemoryCacheAdapter',
  type: 'MemoryCacheAdapterOptions',
  options: {
    maxEntries: {
      doc: 'Entries at most. Default 10 000.',
      schema: { type: 'integer', minimum: 0, default: 10000 },
    },
    maxBytes: {
      doc: 'Bytes at most (keys, headers, bodies). Default 64 MiB.',
      schema: { type: 'integer', minimum: 0, default: 67108864 },
    },
  },
}

const redis = {
  name: 'RedisCacheAdapter',
  type: 'RedisCacheAdapterOptions',
  options: {
    url: {
      doc: '`redis://[user:password@]host[:port][/db]` or `redis+unix:///path` (no TLS).',
      required: true,
      schema: { type: 'string' },
    },
    prefix: {
      doc: 'Key prefix, non-empty. Default "cache:".',
      schema: { $ref: '#/$defs/nonEmptyString', default: 'cache:' },
    },
    keyPrefix: {
      doc: "nebula-engine's name for `prefix`.",
      schema: { type: 'string' },
    },
    timeoutMs: {
      doc: 'Bound of every Redis operation in ms. Default 1000.',
      schema: { type: 'integer', minimum: 1, maximum: 600000, default: 1000 },
    },
  },
}

/** What the config's `plugins.cache` holds: `store`, then the options of that store's adapter. */
const config = {
  name: 'CachePlugin',
  kind: 'cache',
  type: 'CacheConfig',
  typeDoc: "Options of `plugins.cache`: the store and its adapter's options.",
  section: 'cache',
  options: {
    store: {
      doc: 'Default "memory" (maxEntries, maxBytes); "redis" takes url, prefix, timeoutMs.',
      schema: { enum: ['memory', 'redis'], default: 'memory' },
    },
    maxEntries: { ...memory.options.maxEntries, doc: 'Entries at most (store memory). Default 10 000.' },
    maxBytes: { ...memory.options.maxBytes, doc: 'Bytes at most (keys, headers, bodies; store memory). Default 64 MiB.' },
    url: { ...redis.options.url, required: false, doc: `Store redis: ${redis.options.url.doc}` },
    prefix: { ...redis.options.prefix, doc: 'Key prefix (store redis), non-empty. Default "cache:".' },
    timeoutMs: { ...redis.options.timeoutMs, doc: 'Bound of every Redis operation in ms (store redis). Default 1000.' },
  },
}

module.exports = { memory, redis, config }
