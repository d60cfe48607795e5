'use strict'

// The generated napi binding stays internal: only lib/ requires it.
try {
  module.exports = require('../binding.js')
} catch (err) {
  const e = new Error(
    'nebula-native: the native addon is not built. Run `npm install` (or `npm run build`) in the package folder; ' +
      `it needs a Rust toolchain (cargo). Cause: ${err.message}`,
  )
  e.cause = err
  throw e
}
