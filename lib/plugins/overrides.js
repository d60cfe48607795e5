'use strict'

// Options a module or a route may turn off or override, for plugins whose
// options are one object (CorsPlugin's `cors`, CompressionPlugin's
// `compression`): the key is undefined (inherit), a boolean (on/off), or an
// object of overrides (route over module, over the plugin's own options).

/**
 * @param {object} spec
 * @param {string} spec.plugin  class name, for messages ("CorsPlugin")
 * @param {string} spec.key     the module/route option ("cors")
 * @param {string} spec.what    what an object holds, for messages ("CORS options")
 * @param {(o: object) => object} spec.check  validates options, returns them with undefined keys dropped
 */
function overridable({ plugin, key, what, check }) {
  function checkOverride(v, where) {
    if (v === undefined || typeof v === 'boolean') return
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new TypeError(`${plugin}: ${where} ${key} must be false, true or an object of ${what}`)
    }
    check(v)
  }

  /** getModuleOptionsSchema().validate for the module-level key. */
  function validateModule(base) {
    return (moduleOptions) => {
      // biome-ignore lint/complexity/useOptionalChain: `null` options must be refused by checkOverride(null), not read as "no override".
      const v = moduleOptions && moduleOptions[key]
      try {
        checkOverride(v, 'module option')
        if (v && typeof v === 'object') check({ ...base, ...check(v) })
      } catch (err) {
        return err.message
      }
      return true
    }
  }

  /**
   * The layer options for one handler, or undefined when the plugin is off
   * there. `base` itself when nothing overrides it (handlers then share a layer).
   */
  function layerOptions(base, moduleOptions, h) {
    const fromModule = moduleOptions?.[key]
    const fromRoute = h.options?.[key]
    try {
      checkOverride(fromRoute, 'route option')
      const on = fromRoute !== undefined ? fromRoute !== false : fromModule !== false
      if (!on) return undefined
      // Keys given as undefined inherit (check drops them).
      const overrides = [fromModule, fromRoute].filter((v) => v && typeof v === 'object').map(check)
      return overrides.length ? check(Object.assign({}, base, ...overrides)) : base
    } catch (err) {
      throw new TypeError(`${err.message} (route ${String(h.methodName)})`)
    }
  }

  return { checkOverride, validateModule, layerOptions }
}

/**
 * A boolean module/route option (LoggerPlugin's `accessLog`, MetricsPlugin's
 * `metrics`): the route's value wins over the module's; `check(v, where)`
 * returns true or a message.
 */
function routeFlag({ key, check }) {
  return {
    validateModule: (moduleOptions) => check(moduleOptions[key], 'module option'),
    /** `{ [key]: value }` when the route or its module sets it, else `{}`. */
    layerOptions(moduleOptions, h) {
      const routeOptions = h.options || {}
      const bad = check(routeOptions[key], `route ${String(h.methodName)}`)
      if (bad !== true) throw new TypeError(bad)
      const value = routeOptions[key] ?? moduleOptions?.[key]
      return value === undefined ? {} : { [key]: value }
    },
  }
}

module.exports = { overridable, routeFlag }
