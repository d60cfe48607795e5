'use strict'

// CorsPlugin's options (the native "cors" plugin). See ./index.js for the spec's shape.

module.exports = {
  name: 'CorsPlugin',
  kind: 'cors',
  type: 'CorsOptions',
  section: 'cors',
  options: {
    origins: {
      doc: '`"*"` (default) or exact origins (`https://app.example.com`, `null`) and `scheme://*.domain` patterns.',
      schema: { anyOf: [{ const: '*' }, { $ref: '#/$defs/stringList' }], default: '*', 'x-expected': '"*" or an array of origins' },
    },
    methods: {
      doc: '`Access-Control-Allow-Methods`. Default `["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]`.',
      schema: { $ref: '#/$defs/stringList' },
    },
    allowedHeaders: {
      doc: "`Access-Control-Allow-Headers`. Default: echo the preflight's `Access-Control-Request-Headers`.",
      schema: { $ref: '#/$defs/stringList' },
    },
    exposedHeaders: {
      doc: '`Access-Control-Expose-Headers`: response headers the page may read. Default `[]`.',
      schema: { $ref: '#/$defs/stringList' },
    },
    credentials: {
      doc: '`Access-Control-Allow-Credentials: true`; with `origins: "*"` the origin is echoed. Default `false`.',
      schema: { type: 'boolean', default: false },
    },
    maxAge: {
      doc: '`Access-Control-Max-Age` in seconds. Default: not sent.',
      schema: { type: 'integer', minimum: 0 },
    },
  },
}
