'use strict'

/** Lower runs first: the outer layer of every handler's onion. */
const PluginPriority = Object.freeze({
  SYSTEM: 50,
  SECURITY: 100,
  LOGGING: 200,
  BUSINESS: 300,
  PERFORMANCE: 400,
  ROUTE: 1000,
})

module.exports = { PluginPriority }
