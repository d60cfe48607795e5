'use strict'

const { Microservice } = require('./microservice')
const { createModuleDecorator } = require('./decorators')

/**
 * nebula-engine's shipped entry: `Factory.create(...plugins)` → `{ Module, Microservice }`.
 * That `Module` binds classes to this factory's engines only, and those engines
 * get exactly the plugins given (no defaults).
 */
const Factory = {
  create(...plugins) {
    const key = Symbol('nebula.factory')
    const Module = createModuleDecorator(key)
    class FactoryMicroservice extends Microservice {
      constructor(options) {
        super(options, { key, plugins })
      }
    }
    Object.defineProperty(FactoryMicroservice, 'name', { value: 'Microservice' })
    return { Module, Microservice: FactoryMicroservice }
  },
}

const Testing = {
  /**
   * An engine with exactly `plugins`, and the Module that binds classes to it.
   * @param {{ plugins?: import('../index').Plugin[], options?: Partial<import('../index').MicroserviceOptions> }} [spec]
   */
  createTestEngine({ plugins = [], options } = {}) {
    const { Module, Microservice: M } = Factory.create(...plugins)
    // nebula's defaults under the options given: `{ options: { prefix: "/api" } }` needs no name.
    const engine = new M({ name: 'test-service', version: '1.0.0', ...options })
    return { Module, Microservice: M, engine }
  },
  /** nebula's defaults for a test engine's options. */
  DEFAULT_TEST_OPTIONS: Object.freeze({ name: 'test-service', version: '1.0.0' }),
  /**
   * Resolves after `ms` milliseconds (nebula's Testing.wait).
   * @param {number} ms
   * @returns {Promise<void>}
   */
  wait(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms))
  },
}

module.exports = { Factory, Testing }
