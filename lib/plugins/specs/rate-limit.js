'use strict'

// RateLimitPlugin's options (the native "rate_limit" plugin). See ./index.js for the spec's shape.

module.exports = {
  name: 'RateLimitPlugin',
  kind: 'rate_limit',
  type: 'RateLimitOptions',
  section: 'rateLimit',
  options: {
    maxRequests: {
      doc: 'Requests per window per key. Default 100.',
      schema: { type: 'integer', minimum: 1, maximum: 1000000000, default: 100 },
    },
    windowMs: {
      doc: 'Window length (ms). Default 60000.',
      schema: { type: 'integer', minimum: 1, maximum: 4294967295, default: 60000 },
    },
    key: {
      doc: '`"ip"` (default: the client address; IPv6 by /64; in-process requests share "local"), `{ header: name }` or `{ claim: name }`.',
      ts: 'RateLimitKey',
      schema: {
        anyOf: [
          { const: 'ip' },
          { type: 'object', additionalProperties: false, required: ['header'], properties: { header: { $ref: '#/$defs/nonEmptyString' } } },
          { type: 'object', additionalProperties: false, required: ['claim'], properties: { claim: { $ref: '#/$defs/nonEmptyString' } } },
        ],
        default: 'ip',
        'x-expected': '"ip", { "header": name } or { "claim": name }',
      },
    },
    maxKeys: {
      doc: 'Keys remembered per counter set at most (evicted beyond). Default 100000.',
      schema: { type: 'integer', minimum: 1, maximum: 100000000, default: 100000 },
    },
  },
}
