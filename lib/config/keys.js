'use strict'

// Engine options a config carries as they are (Microservice fills in the
// defaults): shared by loading, building and reloading.

const ENGINE_KEYS = ['prefix', 'bodyLimit', 'responseLimit', 'handlerTimeout', 'headerTimeout', 'bodyTimeout', 'maxConnections', 'shutdownTimeout']

module.exports = { ENGINE_KEYS }
