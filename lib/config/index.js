'use strict'

// nebula.config.json: loading and validation (load.js, against
// schema/nebula.config.schema.json), building an engine (build.js), hot
// reload (reload.js, watch.js) and starting from a file (run.js).

const { loadConfig, parseConfig } = require('./load')
const { configPath, runtimeDirOf } = require('./locate')
const { buildEngine } = require('./build')
const { planReload, applyReload } = require('./reload')
const { startFromConfig } = require('./run')
const { ConfigError } = require('./errors')

module.exports = { loadConfig, parseConfig, configPath, runtimeDirOf, buildEngine, planReload, applyReload, startFromConfig, ConfigError }
