'use strict'

// Defined once, in Rust (nebula_core::engine::Priority, handed over by
// src/binding/shared.rs); index.d.ts repeats the values as literal types
// (__test__/shared-definitions.test.ts compares them).
const { sharedDefinitions } = require('./native')

/**
 * Lower runs first: the outer layer of every handler's onion. Typed as index.d.ts
 * declares it (its literals are Rust's numbers: the test above compares them).
 */
const PluginPriority = /** @type {typeof import('../index').PluginPriority} */ (Object.freeze({ ...sharedDefinitions().pluginPriority }))

module.exports = { PluginPriority }
