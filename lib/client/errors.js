'use strict'

// The errors a generated client throws (nebula-client's names): a refused
// call (ClientError: a 4xx, or `success: false`), a server or network
// failure (ConnectionError, retried for idempotent actions), a timeout, a
// stream that failed midway.

class ClientError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'ClientError'
  }
}

class ConnectionError extends ClientError {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'ConnectionError'
  }
}

class TimeoutError extends ClientError {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'TimeoutError'
  }
}

class StreamError extends ClientError {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'StreamError'
  }
}

module.exports = { ClientError, ConnectionError, TimeoutError, StreamError }
