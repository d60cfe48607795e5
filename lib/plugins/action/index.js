'use strict'

const { ActionPlugin } = require('./plugin')
const { Action } = require('./decorator')
const compat = require('./compat')

module.exports = { ActionPlugin, Action, ...compat }
