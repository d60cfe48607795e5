// ESM face of lib/client/index.js.
import cjs from './index.js'

export const { BaseMicroserviceClient, MicroserviceClient, ClientError, ConnectionError, TimeoutError, StreamError, takeFrame } = cjs
