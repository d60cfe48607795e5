// The runtime of generated clients (`nebula-native/client`) against a fetch of
// the test's own, no server: what an action call and a route call send (after
// the request interceptors changed it), what they make of the answer, how
// failures surface (named errors, through the error interceptors).
import { describe, expect, it } from 'vitest'
import { BaseMicroserviceClient, ClientError, ConnectionError, StreamError, TimeoutError } from '../lib/client/index.js'
import type { ClientConfig, RequestInterceptor } from '../lib/client/index.js'

type Sent = { url: string; method?: string; headers: Record<string, string>; body?: unknown }

/** A client whose fetch records what it is given and answers with `answer`. */
function clientWith(answer: (sent: Sent, signal: AbortSignal) => Promise<Response> | Response, config: Partial<ClientConfig> = {}) {
  const sent: Sent[] = []
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    const s: Sent = { url: String(url), method: init?.method, headers: { ...(init?.headers as Record<string, string>) }, body: init?.body }
    sent.push(s)
    return answer(s, init?.signal as AbortSignal)
  }
  class Client extends BaseMicroserviceClient {
    call(module: string, method: string, ...args: unknown[]) {
      return this.request(module, method, false, false, ...args)
    }
  }
  return { client: new Client({ baseUrl: 'http://svc', fetch: fetch as typeof globalThis.fetch, ...config }), sent }
}

const json = (status: number, value: unknown) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } })

describe('client errors', () => {
  it('are named after their class and are all ClientErrors', () => {
    for (const [E, name] of [
      [ClientError, 'ClientError'],
      [ConnectionError, 'ConnectionError'],
      [TimeoutError, 'TimeoutError'],
      [StreamError, 'StreamError'],
    ] as const) {
      const e = new E('why')
      expect(e.name).toBe(name)
      expect(e.message).toBe('why')
      expect(e).toBeInstanceOf(ClientError)
      expect(e).toBeInstanceOf(Error)
      expect(String(e)).toBe(`${name}: why`)
    }
  })
})

describe('an action call', () => {
  it('posts the arguments as EJSON after the request interceptors, and resolves to data', async () => {
    const seen: string[] = []
    const interceptor: RequestInterceptor = {
      onRequest: (config) => {
        seen.push('request')
        config.headers['x-token'] = 't'
        ;(config.body as Record<number, unknown>)[1] = 'changed'
      },
      onResponse: (response) => {
        seen.push(`response ${response.status}`)
        return response
      },
    }
    const { client, sent } = clientWith(() => json(200, { success: true, data: { ok: 1 } }), { interceptors: [interceptor] })
    await expect(client.call('Users', 'add', new Date(0), 'b')).resolves.toEqual({ ok: 1 })
    expect(seen).toEqual(['request', 'response 200'])
    expect(sent).toHaveLength(1)
    expect(sent[0].url).toBe('http://svc/api/Users/add')
    expect(sent[0].method).toBe('POST')
    expect(sent[0].headers['x-token']).toBe('t')
    expect(JSON.parse(String(sent[0].body))).toEqual({ 0: { $date: 0 }, 1: 'changed' })
  })

  it('a refusal is a ClientError with the server’s words; a 5xx a ConnectionError', async () => {
    const refused = clientWith(() => json(200, { success: false, error: 'no such user' })).client
    await expect(refused.call('Users', 'get', 1)).rejects.toMatchObject({ name: 'ClientError', message: 'no such user' })
    const bad = clientWith(() => json(422, { error: 'age must be a number' })).client
    await expect(bad.call('Users', 'get', 1)).rejects.toMatchObject({ name: 'ClientError', message: 'age must be a number' })
    const down = clientWith(() => new Response('oops', { status: 503 })).client
    await expect(down.call('Users', 'get', 1)).rejects.toMatchObject({ name: 'ConnectionError', message: 'HTTP 503: oops' })
  })

  it('a network failure is a ConnectionError, through the error interceptors', async () => {
    const errors: string[] = []
    const { client } = clientWith(
      () => {
        throw new Error('ECONNREFUSED')
      },
      { interceptors: [{ onError: (e) => (errors.push(`${e.name}: ${e.message}`), e) }] },
    )
    const err = await client.call('Users', 'get', 1).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect(err).toMatchObject({ name: 'ConnectionError', message: 'ECONNREFUSED' })
    expect(errors).toEqual(['ConnectionError: ECONNREFUSED'])
  })

  it('no answer within request.timeout is a TimeoutError naming the url', async () => {
    const { client } = clientWith(
      (_, signal) =>
        new Promise<Response>((_, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted')))
        }),
      { request: { timeout: 30 } },
    )
    await expect(client.call('Users', 'slow')).rejects.toMatchObject({ name: 'TimeoutError', message: 'Request timeout for http://svc/api/Users/slow' })
  })
})

describe('a route call', () => {
  it('sends JSON after the request interceptors and parses a JSON answer', async () => {
    const { client, sent } = clientWith(() => json(201, { id: 7 }), {
      interceptors: [
        {
          onRequest: (config) => {
            ;(config.body as Record<string, unknown>).by = 'interceptor'
          },
        },
      ],
    })
    await expect(client.callRoute('POST', '/users/:team', { params: { team: 'a b' }, query: { n: [1, 2] }, body: { name: 'x' } })).resolves.toEqual({ id: 7 })
    expect(sent[0].url).toBe('http://svc/users/a%20b?n=1&n=2')
    expect(sent[0].method).toBe('POST')
    expect(JSON.parse(String(sent[0].body))).toEqual({ name: 'x', by: 'interceptor' })
  })

  it('a GET sends no body nor content type; 204 resolves to undefined; text stays text', async () => {
    const answers = [new Response(null, { status: 204 }), new Response('plain', { status: 200, headers: { 'content-type': 'text/plain' } })]
    const { client, sent } = clientWith(() => answers.shift() as Response)
    await expect(client.callRoute('GET', '/ping')).resolves.toBeUndefined()
    expect(sent[0].body).toBeUndefined()
    expect(sent[0].headers['Content-Type']).toBeUndefined()
    await expect(client.callRoute('GET', '/text')).resolves.toBe('plain')
  })

  it('4xx rejects with ClientError (the body’s message), 5xx with ConnectionError, an error interceptor may replace the error', async () => {
    const answers = [json(404, { message: 'no user 3' }), new Response('down', { status: 502 })]
    const { client } = clientWith(() => answers.shift() as Response, {
      interceptors: [{ onError: (e) => (e.name === 'ConnectionError' ? new Error(`wrapped: ${e.message}`) : e) }],
    })
    await expect(client.callRoute('GET', '/users/3')).rejects.toMatchObject({ name: 'ClientError', message: 'no user 3' })
    await expect(client.callRoute('GET', '/users/4')).rejects.toMatchObject({ message: 'wrapped: HTTP 502: down' })
  })

  it('a missing path parameter is a ClientError before any fetch', async () => {
    const { client, sent } = clientWith(() => json(200, {}))
    await expect(client.callRoute('GET', '/users/:id')).rejects.toMatchObject({ name: 'ClientError', message: 'GET /users/:id: params.id is missing' })
    expect(sent).toHaveLength(0)
  })
})
