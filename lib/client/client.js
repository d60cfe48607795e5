'use strict'

// The runtime of generated clients (ClientCodePlugin's client.ts imports it
// as `nebula-native/client`): nebula-client's BaseMicroserviceClient. A call
// is a POST of the EJSON `{"0": a, "1": b, …}` to `{baseUrl}{prefix}/{module}/{action}`;
// the answer's `data`, or a ClientError carrying its `error`. A streamed
// action gives an async iterable of the values; leaving it early (`break`)
// closes the connection, which ends the generator on the server. Idempotent
// actions are retried on connection failures and timeouts.

const ejson = require('ejson')
const { ClientError, ConnectionError, TimeoutError, StreamError } = require('./errors')
const { RequestQueue } = require('./queue')
const { takeFrame } = require('./frames')

const DEFAULT_TIMEOUT = 60_000
const DEFAULT_RETRY_DELAYS = [500, 1000, 3000, 5000]

/**
 * @param {() => Promise<any>} fn
 * @param {{ maxAttempts?: number, delays?: number[], shouldRetry?: (e: Error) => boolean }} options
 */
async function retry(fn, options) {
  const maxAttempts = options.maxAttempts ?? 3
  const delays = options.delays ?? DEFAULT_RETRY_DELAYS
  const shouldRetry = options.shouldRetry ?? ((e) => e instanceof ConnectionError || e instanceof TimeoutError)
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      if (attempt >= maxAttempts - 1 || !shouldRetry(e)) throw e
      await new Promise((resolve) => setTimeout(resolve, delays[Math.min(attempt, delays.length - 1)] ?? 0))
    }
  }
}

/** @param {string} text */
function parseAnswer(text) {
  try {
    return ejson.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The values of a streamed answer, read as they arrive.
 * @param {Response} response
 * @returns {AsyncIterableIterator<unknown>}
 */
function streamOf(response) {
  const body = response.body
  if (!body) throw new StreamError('the streamed answer has no body')
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let finished = false
  const iterator = {
    async next() {
      if (finished) return { done: true, value: undefined }
      try {
        for (;;) {
          const frame = takeFrame(buffer)
          if (frame) {
            buffer = frame.remaining
            const data = frame.data
            if (data && data.error !== undefined && data.error !== null) throw new StreamError(String(data.error))
            if (data?.done) {
              finished = true
              reader.cancel().catch(() => {})
              return { done: true, value: undefined }
            }
            return { done: false, value: data?.value }
          }
          const { done, value } = await reader.read()
          if (done) {
            finished = true
            if (buffer.trim() !== '') throw new StreamError('Incomplete stream data at end of stream')
            return { done: true, value: undefined }
          }
          buffer += decoder.decode(value, { stream: true })
        }
      } catch (err) {
        finished = true
        reader.cancel().catch(() => {})
        if (err instanceof StreamError) throw err
        throw new StreamError(err instanceof Error ? err.message : String(err))
      }
    },
    async return() {
      finished = true
      buffer = ''
      await reader.cancel().catch(() => {})
      return { done: true, value: undefined }
    },
    [Symbol.asyncIterator]() {
      return iterator
    },
  }
  return /** @type {AsyncIterableIterator<unknown>} */ (iterator)
}

class BaseMicroserviceClient {
  /** @param {import('./index').ClientConfig} options */
  constructor(options) {
    if (!options || typeof options.baseUrl !== 'string') throw new TypeError('MicroserviceClient needs { baseUrl }')
    this.baseUrl = options.baseUrl.replace(/\/$/, '')
    this.prefix = options.prefix ?? '/api'
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.config = {
      ...options,
      retry: { maxAttempts: 3, delays: DEFAULT_RETRY_DELAYS, ...options.retry },
      request: { timeout: DEFAULT_TIMEOUT, ...options.request },
    }
    this.headers = { 'Content-Type': 'application/json', ...options.headers }
    this.queue = new RequestQueue(options.request?.concurrency ?? 10)
  }

  /**
   * @param {string} url
   * @param {unknown[]} args
   * @param {boolean} isStream
   */
  async _send(url, args, isStream) {
    /** @type {Record<number, unknown>} */
    const body = {}
    args.forEach((arg, i) => {
      body[i] = arg
    })
    const config = { url, method: 'POST', headers: { ...this.headers }, body }
    return this._exchange(
      url,
      config,
      (b) => ejson.stringify(/** @type {any} */ (b)),
      async (response) => {
        if (isStream && response.ok) return streamOf(response)
        const text = await response.text()
        const data = parseAnswer(text)
        const why = data && typeof data === 'object' && data.error !== undefined ? String(data.error) : undefined
        if (!response.ok) {
          const message = why ?? `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`
          if (response.status >= 400 && response.status < 500) throw new ClientError(message)
          throw new ConnectionError(message)
        }
        if (!data || typeof data !== 'object') throw new ClientError(`the answer is not EJSON: ${text.slice(0, 200)}`)
        if (!data.success) throw new ClientError(why ?? 'the action failed')
        return data.data
      },
    )
  }

  /**
   * One HTTP exchange in the queue, bounded by the request timeout: the request interceptors
   * see `config` first, then it is fetched with the body `bodyOf` makes of `config.body`, the
   * response interceptors see the response and `answer` reads it; an error from any step
   * passes the error interceptors. A network failure is a ConnectionError, the timeout a
   * TimeoutError.
   * @template T
   * @param {string} url for the timeout's message
   * @param {{ url: string, method: string, headers: Record<string, string>, body: unknown }} config
   * @param {(body: unknown) => string | undefined} bodyOf
   * @param {(response: Response) => Promise<T>} answer
   * @returns {Promise<T>}
   */
  _exchange(url, config, bodyOf, answer) {
    const interceptors = this.config.interceptors ?? []
    return this.queue.add(
      async (signal) => {
        try {
          for (const i of interceptors) if (i.onRequest) await i.onRequest(config)
          let response
          try {
            response = await this.fetch(config.url, {
              method: config.method,
              headers: config.headers,
              body: bodyOf(config.body),
              signal,
            })
          } catch (err) {
            if (signal.aborted) throw new TimeoutError(`Request timeout for ${url}`)
            throw new ConnectionError(err instanceof Error ? err.message : String(err))
          }
          for (const i of interceptors) if (i.onResponse) response = await i.onResponse(response)
          return await answer(response)
        } catch (error) {
          let err = error instanceof Error ? error : new Error(String(error))
          for (const i of interceptors) if (i.onError) err = await i.onError(err)
          throw err
        }
      },
      this.config.request.timeout,
      url,
    )
  }

  /**
   * Calls `module.method(...args)` on the server.
   * @param {string} moduleName
   * @param {string} methodName
   * @param {boolean} isStream
   * @param {boolean} idempotent
   * @param {...unknown} args
   */
  async request(moduleName, methodName, isStream, idempotent, ...args) {
    const url = `${this.baseUrl}${this.prefix}/${moduleName}/${methodName}`
    const once = async () => {
      try {
        return await this._send(url, args, isStream)
      } catch (err) {
        if (err instanceof ClientError) throw err
        throw new ClientError(err instanceof Error ? err.message : String(err))
      }
    }
    if (!idempotent || isStream) return once()
    return retry(once, this.config.retry)
  }

  /**
   * Calls a @Route: `:name` segments filled from `input.params`, `input.query` as the query
   * string, `input.body` as JSON. Resolves to the answer (JSON parsed, text otherwise,
   * undefined for 204); an error status rejects (ClientError for 4xx, ConnectionError for 5xx).
   * @param {string} method
   * @param {string} path
   * @param {import('./index').RouteInput} [input]
   */
  async callRoute(method, path, input = {}) {
    const params = input.params ?? {}
    const filled = path
      .replace(/:([A-Za-z_$][\w$]*)/g, (_, name) => {
        const v = /** @type {Record<string, unknown>} */ (params)[name]
        if (v === undefined || v === null) throw new ClientError(`${method} ${path}: params.${name} is missing`)
        return encodeURIComponent(String(v))
      })
      .replace(/\*$/, () => String(/** @type {Record<string, unknown>} */ (params)['*'] ?? ''))
    const search = new URLSearchParams()
    for (const [k, v] of Object.entries(input.query ?? {})) {
      for (const item of Array.isArray(v) ? v : [v]) {
        if (item !== undefined) search.append(k, item instanceof Date ? item.toISOString() : String(item))
      }
    }
    const qs = search.toString()
    const url = `${this.baseUrl}${filled}${qs ? `?${qs}` : ''}`
    const hasBody = input.body !== undefined && method !== 'GET' && method !== 'HEAD'
    /** @type {Record<string, string>} */
    const headers = { ...this.headers, ...input.headers }
    if (!hasBody) delete headers['Content-Type']
    const config = { url, method, headers, body: input.body }
    return this._exchange(
      url,
      config,
      (b) => (hasBody ? JSON.stringify(b) : undefined),
      async (response) => {
        if (response.status === 204 || method === 'HEAD') return undefined
        const text = await response.text()
        const isJson = /\bjson\b/i.test(response.headers.get('content-type') ?? '')
        let data = text
        if (isJson && text !== '') {
          try {
            data = JSON.parse(text)
          } catch {
            data = text
          }
        }
        if (!response.ok) {
          const d = /** @type {any} */ (data)
          const why = d && typeof d === 'object' ? (d.message ?? d.error) : undefined
          const message = why !== undefined ? String(why) : `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`
          throw response.status < 500 ? new ClientError(message) : new ConnectionError(message)
        }
        return data
      },
    )
  }

  /**
   * The functions of the schema'd routes, by module, as the generated client declares them.
   * @param {Record<string, Record<string, { method: string, path: string }>>} modules
   */
  registerRoutes(modules) {
    /** @type {Record<string, Record<string, (input?: import('./index').RouteInput) => Promise<unknown>>>} */
    const out = {}
    for (const [moduleName, routes] of Object.entries(modules)) {
      out[moduleName] = {}
      for (const [name, r] of Object.entries(routes)) out[moduleName][name] = (input) => this.callRoute(r.method, r.path, input)
    }
    return out
  }

  /** Nothing to close (calls hold no connection between them); kept for nebula-client compatibility. */
  close() {}

  /**
   * @param {string} moduleName
   * @param {string} methodName
   * @param {{ idempotent: boolean, stream: boolean }} options
   */
  registerModuleMethod(moduleName, methodName, options) {
    return (/** @type {unknown[]} */ ...args) => this.request(moduleName, methodName, !!options.stream, !!options.idempotent, ...args)
  }

  /**
   * The methods of one module, as the generated client declares them.
   * @param {string} moduleName
   * @param {Record<string, { idempotent: boolean, stream: boolean }>} methods
   */
  registerModule(moduleName, methods) {
    /** @type {Record<string, (...args: unknown[]) => Promise<unknown>>} */
    const module = {}
    for (const [name, options] of Object.entries(methods)) module[name] = this.registerModuleMethod(moduleName, name, options)
    return module
  }
}

module.exports = { BaseMicroserviceClient, retry }
