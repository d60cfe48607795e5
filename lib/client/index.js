'use strict'

// `nebula-native/client`: what generated clients import (nebula-client's API).

const { BaseMicroserviceClient } = require('./client')
const { ClientError, ConnectionError, TimeoutError, StreamError } = require('./errors')
const { takeFrame } = require('./frames')

/** @deprecated nebula-client's old name of BaseMicroserviceClient */
const MicroserviceClient = BaseMicroserviceClient

module.exports = { BaseMicroserviceClient, MicroserviceClient, ClientError, ConnectionError, TimeoutError, StreamError, takeFrame }
