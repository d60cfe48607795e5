'use strict'

const { HttpError } = require('./errors')
const { thenOf } = require('./fault')

/**
 * Text of an HTML value: an object renders with its toString() (hono's html`` and JSX nodes;
 * an async component makes that a promise), a promise is awaited first.
 * @param {unknown} value
 * @returns {unknown} the text, or a promise of it
 */
function renderHtml(value) {
  const once = (/** @type {unknown} */ v) => (v !== null && typeof v === 'object' && !thenOf(v) ? v.toString() : v)
  if (thenOf(value)) return Promise.resolve(value).then(once)
  return once(value)
}

/** A response built by `ctx.json()`, `ctx.text()`… : status, headers, body. */
class HttpResponse {
  /**
   * @param {unknown} body
   * @param {number} [status]
   * @param {Record<string, string>} [headers]
   */
  constructor(body, status = 200, headers = {}) {
    this.body = body
    this.status = status
    this.headers = headers
  }
}

const EMPTY = Buffer.alloc(0)

/** `ctx.req.valid()` targets (Hono's names) → `@Route({ validate })` parts. */
const VALID_PARTS = Object.freeze({ json: 'body', query: 'query', param: 'params', header: 'headers' })

/** The request side of a Context (Hono-like). Parsing is lazy. */
class HttpRequest {
  /**
   * @param {string} method
   * @param {string} target path and query
   * @param {readonly string[]} params flat [name, value, …]
   * @param {string[] | string} headers flat [name(lowercase), value, …], or the same joined by NUL (split when first read)
   * @param {Buffer | null} [body]
   */
  constructor(method, target, params, headers, body) {
    this.method = method
    this._target = target
    this._params = params
    /** @type {string[] | undefined} */
    this._flat = typeof headers === 'string' ? undefined : headers
    /** @type {string} */
    this._joined = typeof headers === 'string' ? headers : ''
    this._body = body || EMPTY
    /** @type {URLSearchParams | undefined} */
    this._query = undefined
    /** @type {unknown} */
    this._json = undefined
    /** The matched route pattern, e.g. "/api/users/:id". */
    this.routePath = ''
    /** @type {string | number | undefined} the client's address: a string, an IPv4 address as a number until read, undefined for in-process requests */
    this._ip = undefined
    /** @type {Readonly<Record<string, unknown>> | undefined} the route's JSON Schemas by part (`@Route({ validate })`) */
    this._schemas = undefined
    /** @type {string | Record<string, unknown> | null} what Rust validated and coerced: `{"query":…,"param":…,"header":…}`, parsed when first read */
    this._valid = null
  }

  /**
   * What Rust validated against the route's `validate` schemas, before the
   * handler ran: the JSON body (`'json'`), or the query, path parameters or
   * headers (`'query'`, `'param'`, `'header'`) coerced to the schema's types.
   * Throws when the route has no schema for that part.
   * @param {'json' | 'query' | 'param' | 'header'} target
   * @returns {any}
   */
  valid(target) {
    const part = VALID_PARTS[/** @type {keyof typeof VALID_PARTS} */ (target)]
    if (part === undefined) throw new TypeError(`ctx.req.valid(${JSON.stringify(target)}): use 'json', 'query', 'param' or 'header'`)
    if (this._schemas?.[part] === undefined) {
      throw new Error(`ctx.req.valid('${target}'): route ${this.method} ${this.routePath || this.path} has no validate.${part} schema`)
    }
    if (target === 'json') {
      // Rust parsed and checked it already: this cannot fail.
      if (this._json === undefined) this._json = JSON.parse(this._body.toString('utf8'))
      return this._json
    }
    if (typeof this._valid === 'string') this._valid = JSON.parse(this._valid)
    return /** @type {Record<string, unknown>} */ (this._valid)[target]
  }

  /**
   * The client's address (undefined for in-process requests).
   * @returns {string | undefined}
   */
  get ip() {
    const v = this._ip
    if (typeof v !== 'number') return v
    this._ip = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
    return this._ip
  }

  set ip(v) {
    this._ip = v
  }

  /**
   * The headers, flat [name(lowercase), value, …].
   * @returns {string[]}
   */
  get _headers() {
    if (this._flat === undefined) this._flat = this._joined === '' ? [] : this._joined.split('\0')
    return this._flat
  }

  get path() {
    const q = this._target.indexOf('?')
    return q === -1 ? this._target : this._target.slice(0, q)
  }

  get url() {
    const host = this.header('host') || 'localhost'
    return `http://${host}${this._target}`
  }

  /**
   * One path parameter, or all of them without a name.
   * @overload
   * @param {string} name
   * @returns {string | undefined}
   */
  /**
   * @overload
   * @returns {Record<string, string>}
   */
  /** @param {string} [name] */
  param(name) {
    const p = this._params
    if (name === undefined) {
      /** @type {Record<string, string>} */
      const all = {}
      for (let i = 0; i < p.length; i += 2) all[p[i]] = p[i + 1]
      return all
    }
    for (let i = 0; i < p.length; i += 2) if (p[i] === name) return p[i + 1]
    return undefined
  }

  _searchParams() {
    if (this._query === undefined) {
      const q = this._target.indexOf('?')
      this._query = new URLSearchParams(q === -1 ? '' : this._target.slice(q + 1))
    }
    return this._query
  }

  /**
   * One query parameter (the first), or all of them (the first of each) without a name.
   * @overload
   * @param {string} name
   * @returns {string | undefined}
   */
  /**
   * @overload
   * @returns {Record<string, string>}
   */
  /** @param {string} [name] */
  query(name) {
    const sp = this._searchParams()
    if (name === undefined) {
      /** @type {Record<string, string>} */
      const all = {}
      for (const [k, v] of sp) if (!(k in all)) all[k] = v
      return all
    }
    const v = sp.get(name)
    return v === null ? undefined : v
  }

  /**
   * Every value of a query parameter, or of all of them without a name.
   * @overload
   * @param {string} name
   * @returns {string[] | undefined}
   */
  /**
   * @overload
   * @returns {Record<string, string[]>}
   */
  /** @param {string} [name] */
  queries(name) {
    const sp = this._searchParams()
    if (name === undefined) {
      /** @type {Record<string, string[]>} */
      const all = {}
      for (const [k, v] of sp) {
        const list = all[k]
        if (list) list.push(v)
        else all[k] = [v]
      }
      return all
    }
    const list = sp.getAll(name)
    return list.length === 0 ? undefined : list
  }

  /**
   * A request header (case-insensitive; repeated ones joined by ", "), or all of them without a name.
   * @overload
   * @param {string} name
   * @returns {string | undefined}
   */
  /**
   * @overload
   * @returns {Record<string, string>}
   */
  /** @param {string} [name] */
  header(name) {
    const h = this._headers
    if (name === undefined) {
      /** @type {Record<string, string>} */
      const all = {}
      for (let i = 0; i < h.length; i += 2) all[h[i]] = all[h[i]] === undefined ? h[i + 1] : `${all[h[i]]}, ${h[i + 1]}`
      return all
    }
    const key = String(name).toLowerCase()
    for (let i = 0; i < h.length; i += 2) if (h[i] === key) return h[i + 1]
    return undefined
  }

  async text() {
    return this._body.toString('utf8')
  }

  /** @returns {Promise<ArrayBuffer>} */
  async arrayBuffer() {
    const b = this._body
    // A body from Rust is never in shared memory.
    return /** @type {ArrayBuffer} */ (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
  }

  /** @returns {Promise<any>} */
  async json() {
    if (this._json !== undefined) return this._json
    if (this._body.length === 0) throw new HttpError(400, 'Request body is empty; expected JSON')
    try {
      this._json = JSON.parse(this._body.toString('utf8'))
    } catch (err) {
      throw new HttpError(400, `Malformed JSON body: ${err.message}`, { cause: err })
    }
    return this._json
  }
}

/** What a handler and its middlewares receive (Hono-like). */
class Context {
  /**
   * @param {HttpRequest} req
   * @param {import('../index').HandlerMetadata | undefined} handler
   */
  constructor(req, handler) {
    this.req = req
    this.handler = handler
    /** @type {number | undefined} */
    this._status = undefined
    /** @type {Record<string, string> | undefined} */
    this._headers = undefined
    /** @type {Map<string, unknown> | undefined} */
    this._vars = undefined
    /** @type {string[] | undefined} what native layers handed over, as received: `[key, json, …]` */
    this._nativeLocals = undefined
    /** @type {number | undefined} until when a streamed Response body is read (ms since the epoch) */
    this._deadline = undefined
    /** @type {number | undefined} the largest streamed Response body (the engine's `responseLimit`) */
    this._responseLimit = undefined
  }

  /** @param {number} code */
  status(code) {
    this._status = code
  }

  /**
   * Sets a response header; `undefined` removes it.
   * @param {string} name
   * @param {string | undefined} value
   */
  header(name, value) {
    if (!this._headers) this._headers = {}
    if (value === undefined) delete this._headers[String(name).toLowerCase()]
    else this._headers[String(name).toLowerCase()] = String(value)
  }

  /**
   * @param {string} key
   * @param {unknown} value
   */
  set(key, value) {
    if (!this._vars) this._vars = new Map()
    this._vars.set(key, value)
  }

  /**
   * @param {string} key
   * @returns {any}
   */
  get(key) {
    return this._vars ? this._vars.get(key) : undefined
  }

  /** @returns {Record<string, unknown>} */
  get var() {
    return this._vars ? Object.fromEntries(this._vars) : {}
  }

  /**
   * @param {unknown} value
   * @param {number} [status]
   * @param {Record<string, string>} [headers]
   */
  json(value, status, headers) {
    const body = JSON.stringify(value)
    return new HttpResponse(body === undefined ? 'null' : body, status ?? this._status ?? 200, {
      'content-type': 'application/json; charset=utf-8',
      ...headers,
    })
  }

  /**
   * @param {string} value
   * @param {number} [status]
   * @param {Record<string, string>} [headers]
   */
  text(value, status, headers) {
    return new HttpResponse(String(value), status ?? this._status ?? 200, {
      'content-type': 'text/plain; charset=utf-8',
      ...headers,
    })
  }

  /**
   * HTML: a string, hono's html`` or a hono/jsx node (rendered by its toString()), or a promise
   * of one; then the response comes as a promise too (hono's `c.html` takes the same).
   * @param {unknown} value
   * @param {number} [status]
   * @param {Record<string, string>} [headers]
   * @returns {any}
   */
  html(value, status, headers) {
    const code = status ?? this._status ?? 200
    const answer = (/** @type {unknown} */ text) => new HttpResponse(String(text), code, { 'content-type': 'text/html; charset=utf-8', ...headers })
    const rendered = renderHtml(value)
    return thenOf(rendered) ? Promise.resolve(rendered).then(answer) : answer(rendered)
  }

  /**
   * @param {string | Uint8Array | ArrayBuffer | null} data
   * @param {number} [status]
   * @param {Record<string, string>} [headers]
   */
  body(data, status, headers) {
    return new HttpResponse(data ?? null, status ?? this._status ?? 200, { ...headers })
  }

  /**
   * @param {string} location
   * @param {number} [status]
   */
  redirect(location, status = 302) {
    return new HttpResponse(null, status, { location: String(location) })
  }

  notFound() {
    return this.json({ error: 'Not Found', message: `no route for ${this.req.method} ${this.req.path}` }, 404)
  }
}

module.exports = { Context, HttpRequest, HttpResponse }
