'use strict'

// The errors a generated client throws (nebula-client's names): a refused
// call (ClientError: a 4xx, or `success: false`), a server or network
// failure (ConnectionError, retried for idempotent actions), a timeout, a
// stream that failed midway.

// Each error's `name` is its class's name.
class ClientError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = new.target.name
  }
}

class ConnectionError extends ClientError {}

class TimeoutError extends ClientError {}

class StreamError extends ClientError {}

module.exports = { ClientError, ConnectionError, TimeoutError, StreamError }
