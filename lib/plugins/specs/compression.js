'use strict'

// CompressionPlugin's options (the native "compression" plugin). See ./index.js for the spec's shape.

module.exports = {
  name: 'CompressionPlugin',
  kind: 'compression',
  type: 'CompressionOptions',
  section: 'compression',
  options: {
    threshold: {
      doc: 'Smallest body compressed, in bytes. Default 1024.',
      schema: { type: 'integer', minimum: 0, default: 1024 },
    },
    encodings: {
      doc: 'Codings offered, in the server\'s preference order. Default `["br", "gzip"]`.',
      schema: { type: 'array', minItems: 1, items: { enum: ['br', 'gzip'] }, default: ['br', 'gzip'] },
    },
    level: {
      doc: '1–9 for both codings. Default: gzip 6, brotli 4.',
      schema: { type: 'integer', minimum: 1, maximum: 9 },
    },
  },
}
