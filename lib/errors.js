'use strict'

class PluginNameRequiredError extends Error {
  constructor(message = 'Plugin name is required: every plugin needs a non-empty `name`') {
    super(message)
    this.name = 'PluginNameRequiredError'
  }
}

class ModuleConfigValidationError extends Error {
  constructor(moduleName, pluginName, message) {
    super(`Module ${moduleName} has invalid options for plugin ${pluginName}: ${message}`)
    this.name = 'ModuleConfigValidationError'
    this.moduleName = moduleName
    this.pluginName = pluginName
    this.reason = message
  }
}

/** Exported for nebula-engine compatibility; module names may repeat, so it is never thrown. */
class DuplicateModuleError extends Error {
  constructor(moduleName) {
    super(`Module ${moduleName} is already registered`)
    this.name = 'DuplicateModuleError'
    this.moduleName = moduleName
  }
}

/** An error that carries an HTTP status: thrown by handlers or by the engine (e.g. malformed JSON → 400). */
class HttpError extends Error {
  constructor(status, message, options) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    if (options && options.cause !== undefined) this.cause = options.cause
  }
}

module.exports = { PluginNameRequiredError, ModuleConfigValidationError, DuplicateModuleError, HttpError }
