'use strict'

const { HttpError } = require('./errors')

/** A response built by `ctx.json()`, `ctx.text()`… : status, headers, body. */
class HttpResponse {
  constructor(body, status = 200, headers = {}) {
    this.body = body
    this.status = status
    this.headers = headers
  }
}

const EMPTY = Buffer.alloc(0)

/** The request side of a Context (Hono-like). Parsing is lazy. */
class HttpRequest {
  /** `headers`: flat [name(lowercase), value, …], or the same joined by NUL (split when first read). */
  constructor(method, target, params, headers, body) {
    this.method = method
    this._target = target
    this._params = params // flat [name, value, ...]
    this._flat = typeof headers === 'string' ? undefined : headers
    this._joined = typeof headers === 'string' ? headers : undefined
    this._body = body || EMPTY
    this._query = undefined
    this._json = undefined
    /** The matched route pattern, e.g. "/api/users/:id". */
    this.routePath = ''
    /** The client's address: a string, an IPv4 address as a number until read, undefined for in-process requests. */
    this._ip = undefined
  }

  /** The client's address (undefined for in-process requests). */
  get ip() {
    const v = this._ip
    if (typeof v !== 'number') return v
    this._ip = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
    return this._ip
  }

  set ip(v) {
    this._ip = v
  }

  /** The headers, flat [name(lowercase), value, …]. */
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

  param(name) {
    const p = this._params
    if (name === undefined) {
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

  query(name) {
    const sp = this._searchParams()
    if (name === undefined) {
      const all = {}
      for (const [k, v] of sp) if (!(k in all)) all[k] = v
      return all
    }
    const v = sp.get(name)
    return v === null ? undefined : v
  }

  queries(name) {
    const sp = this._searchParams()
    if (name === undefined) {
      const all = {}
      for (const [k, v] of sp) (all[k] || (all[k] = [])).push(v)
      return all
    }
    const list = sp.getAll(name)
    return list.length === 0 ? undefined : list
  }

  header(name) {
    const h = this._headers
    if (name === undefined) {
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

  async arrayBuffer() {
    const b = this._body
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)
  }

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
  constructor(req, handler) {
    this.req = req
    this.handler = handler
    this._status = undefined
    this._headers = undefined
    this._vars = undefined
    /** What native layers handed over, as received: `[key, json, …]`. */
    this._nativeLocals = undefined
  }

  status(code) {
    this._status = code
  }

  header(name, value) {
    if (!this._headers) this._headers = {}
    if (value === undefined) delete this._headers[String(name).toLowerCase()]
    else this._headers[String(name).toLowerCase()] = String(value)
  }

  set(key, value) {
    if (!this._vars) this._vars = new Map()
    this._vars.set(key, value)
  }

  get(key) {
    return this._vars ? this._vars.get(key) : undefined
  }

  get var() {
    return this._vars ? Object.fromEntries(this._vars) : {}
  }

  json(value, status, headers) {
    const body = JSON.stringify(value)
    return new HttpResponse(body === undefined ? 'null' : body, status ?? this._status ?? 200, {
      'content-type': 'application/json; charset=utf-8',
      ...headers,
    })
  }

  text(value, status, headers) {
    return new HttpResponse(String(value), status ?? this._status ?? 200, {
      'content-type': 'text/plain; charset=utf-8',
      ...headers,
    })
  }

  html(value, status, headers) {
    return new HttpResponse(String(value), status ?? this._status ?? 200, {
      'content-type': 'text/html; charset=utf-8',
      ...headers,
    })
  }

  body(data, status, headers) {
    return new HttpResponse(data ?? null, status ?? this._status ?? 200, { ...headers })
  }

  redirect(location, status = 302) {
    return new HttpResponse(null, status, { location: String(location) })
  }

  notFound() {
    return this.json({ error: 'Not Found', message: `no route for ${this.req.method} ${this.req.path}` }, 404)
  }
}

module.exports = { Context, HttpRequest, HttpResponse }
