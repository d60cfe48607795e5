'use strict'

// LoggerPlugin's options (the native "logger" plugin). See ./index.js for the spec's shape.

module.exports = {
  name: 'LoggerPlugin',
  kind: 'logger',
  type: 'LoggerPluginOptions',
  section: 'logger',
  options: {
    format: {
      doc: 'Line format. Default "json".',
      schema: { enum: ['json', 'pretty'], default: 'json' },
    },
    requestIdHeader: {
      doc: 'Header the request id is read from and written to. Default "x-request-id".',
      schema: { $ref: '#/$defs/nonEmptyString', default: 'x-request-id' },
    },
    output: {
      doc: 'Where lines are printed. Default "stdout".',
      schema: { enum: ['stdout', 'stderr'], default: 'stdout' },
    },
  },
}
