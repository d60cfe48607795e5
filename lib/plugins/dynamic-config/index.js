'use strict'

// DynamicConfigPlugin and @Config (nebula-engine's dynamic config) on the engine's config store.
const { DynamicConfigPlugin } = require('./plugin')
const { Config } = require('./decorator')

module.exports = { DynamicConfigPlugin, Config }
