'use strict'

const { ClientCodePlugin } = require('./plugin')
const { generateClientCode, getZodTypeString } = require('./generator')

module.exports = { ClientCodePlugin, generateClientCode, getZodTypeString }
