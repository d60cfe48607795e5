'use strict'

// The compiled addon, for lib/ only (the generated napi binding stays internal).
// lib/native-loader.js picks it: the checkout's own build if there is one, else the
// platform package npm installed (nebula-native-<platform>-<arch>[-<libc>]), else a
// clear error naming the machine, the package looked for and the ways out.
const { loadNative, currentMachine } = require('./native-loader')
const { version } = require('../package.json')

/** @type {typeof import('../binding')} the API napi-rs generated (binding.d.ts, written by the build) */
module.exports = loadNative({ machine: currentMachine(), version })
