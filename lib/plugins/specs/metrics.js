'use strict'

// MetricsPlugin's options (the native "metrics" plugin). See ./index.js for the spec's shape.

module.exports = {
  name: 'MetricsPlugin',
  kind: 'metrics',
  type: 'MetricsPluginOptions',
  section: 'metrics',
  options: {
    path: {
      doc: 'Path of the GET endpoint. Default "/metrics".',
      schema: { type: 'string', pattern: '^/', 'x-expected': 'a path starting with /', default: '/metrics' },
    },
    prefix: {
      doc: 'Metric name prefix. Default "nebula_".',
      schema: { type: 'string', default: 'nebula_' },
    },
    buckets: {
      doc: 'Histogram upper bounds in seconds, strictly increasing, 1–64 of them.',
      schema: {
        type: 'array',
        minItems: 1,
        maxItems: 64,
        items: { type: 'number' },
        default: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      },
    },
  },
}
