'use strict'

// engine.request(): WHATWG-style input → the flat form the native side takes,
// and its answer → a WHATWG Response.

/** `{ method, target, headers: [k, v, …], body: Buffer | null }` from `request(input, init)`. */
async function toInjected(input, init) {
  let method = (init.method || 'GET').toUpperCase()
  let url
  let headers = new Headers(init.headers)
  let body = init.body
  if (typeof Request !== 'undefined' && input instanceof Request) {
    // Like fetch(): init overrides what the Request says.
    if (init && Object.keys(init).length > 0) input = new Request(input, init)
    method = input.method
    url = new URL(input.url)
    headers = new Headers(input.headers)
    body = input.body === null ? undefined : Buffer.from(await input.arrayBuffer())
  } else {
    url = new URL(String(input), 'http://localhost')
  }
  if (!headers.has('host')) headers.set('host', url.host)
  const flat = []
  headers.forEach((v, k) => {
    flat.push(k, v)
  })
  const payload = await toBuffer(body)
  if (payload && !headers.has('content-length')) flat.push('content-length', String(payload.length))
  return { method, target: url.pathname + url.search, headers: flat, body: payload }
}

function toWebResponse(method, res) {
  const headers = new Headers()
  for (let i = 0; i < res.headers.length; i += 2) headers.append(res.headers[i], res.headers[i + 1])
  const nullBody = res.status === 204 || res.status === 205 || res.status === 304 || method === 'HEAD'
  return new Response(nullBody ? null : res.body, { status: res.status, headers })
}

async function toBuffer(body) {
  if (body === undefined || body === null) return null
  if (typeof body === 'string') return Buffer.from(body)
  if (Buffer.isBuffer(body)) return body
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  if (body instanceof URLSearchParams) return Buffer.from(body.toString())
  return Buffer.from(await new Response(body).arrayBuffer())
}

module.exports = { toInjected, toWebResponse }
