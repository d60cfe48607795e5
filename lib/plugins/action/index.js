'use strict'

const { ActionPlugin } = require('./plugin')
const { Action } = require('./decorator')
const { coerceArgs } = require('./coerce')
const { parseArgs, buildActionPath } = require('./params')

module.exports = { ActionPlugin, Action, coerceArgs, parseArgs, buildActionPath }
