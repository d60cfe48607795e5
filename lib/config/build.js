'use strict'

// Building a Microservice from a loaded config: the module files imported
// (their @Module classes register themselves), the engine options, then the
// plugins in the documented order, the hub, the script VM and the gateway.

const fs = require('node:fs')
const { pathToFileURL } = require('node:url')
const { Microservice } = require('../microservice')
const { HubPlugin } = require('../hub/plugin')
const { JsvmPlugin } = require('../jsvm/plugin')
const { ServicesPlugin } = require('../plugins/services')
const { PLUGIN_KEYS, createPlugin } = require('./plugins')
const { workersDir } = require('./load')
const { engineOptions } = require('./start-checks')

/**
 * Imports each module file (CommonJS or ESM); a failure names the file.
 * @param {string[]} files
 */
async function importModules(files) {
  for (const [i, file] of files.entries()) {
    try {
      await import(pathToFileURL(file).href)
    } catch (err) {
      throw new Error(`modules[${i}] (${file}) failed to load: ${err?.message ? err.message : err}`, { cause: err })
    }
  }
}

/**
 * A Microservice built from a loaded config (see loadConfig), not started.
 * Resolves to `{ engine, plugins, services }`: `plugins` maps config keys
 * (`rateLimit`, `hub`, `jsvm`, …) to the plugin instances; `services` is the
 * ServicesPlugin when the config has a `services` section.
 * @param {import('../../index').NebulaConfig} config
 */
async function buildEngine(config) {
  await importModules(config.modules)
  const engine = new Microservice(engineOptions(config))
  /** @type {Record<string, import('../../index').Plugin>} */
  const plugins = {}
  for (const key of PLUGIN_KEYS) {
    if (!config.plugins[key]) continue
    plugins[key] = createPlugin(key, config.plugins[key])
    engine.plugin(plugins[key])
  }
  if (config.hub) {
    plugins.hub = new HubPlugin(config.hub)
    engine.plugin(plugins.hub)
  }
  if (config.jsvm) {
    plugins.jsvm = new JsvmPlugin(config.jsvm)
    engine.plugin(plugins.jsvm)
  }
  let services
  if (config.services) {
    const runtimeDir = workersDir(config)
    fs.mkdirSync(runtimeDir, { recursive: true, mode: 0o700 })
    services = new ServicesPlugin({ services: config.services, runtimeDir })
    engine.plugin(services)
  }
  return { engine, plugins, services }
}

module.exports = { buildEngine, engineOptions }
