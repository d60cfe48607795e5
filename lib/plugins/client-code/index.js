'use strict'

const { ClientCodePlugin, convertHandlersToModuleInfo, convertHandlersToModuleInfoWithMetadata } = require('./plugin')
const generator = require('./generator')

/**
 * nebula's generateClientCode (a promise, as nebula's formats with prettier): the client's source.
 * @param {Record<string, import('./generator').ModuleInfo>} modules
 * @param {{ prefix?: string }} [options]
 * @returns {Promise<string>}
 */
async function generateClientCode(modules, options) {
  return generator.generateClientCode(modules, options)
}

const { getZodTypeString } = generator

module.exports = { ClientCodePlugin, generateClientCode, getZodTypeString, convertHandlersToModuleInfo, convertHandlersToModuleInfoWithMetadata }
