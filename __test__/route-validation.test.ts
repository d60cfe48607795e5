// @Route({ validate }): requests are checked in Rust against JSON Schemas (or
// zod schemas, converted once) before JavaScript; a bad one gets a 400 listing
// every violation and never reaches the handler.
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Route } from '../index.js'
import { routeSchemas } from '../lib/schema.js'
import { setup, listen, stopAll, type Ctx, type Engine } from './helpers/http'

afterEach(stopAll)

const item = {
  type: 'object',
  required: ['name', 'price'],
  properties: {
    name: { type: 'string', minLength: 1 },
    price: { type: 'number', minimum: 0 },
    tags: { type: 'array', items: { type: 'string' } },
  },
} as const

/** One module with a validated route per case; handlers echo what valid() gave them. */
function build() {
  const { Module, engine } = setup({ route: { prefix: '/api' } })
  @Module('items')
  class Items {
    @Route({
      method: 'POST',
      path: '/items/:shop',
      validate: {
        body: item,
        query: {
          type: 'object',
          properties: { n: { type: 'integer', maximum: 10 }, dry: { type: 'boolean' }, tag: { type: 'array', items: { type: 'integer' } } },
        },
        params: { type: 'object', properties: { shop: { type: 'integer', minimum: 1 } } },
        headers: { type: 'object', required: ['X-Tenant'], properties: { 'X-Tenant': { type: 'integer' } } },
      },
    })
    create(ctx: Ctx) {
      return { body: ctx.req.valid('json'), query: ctx.req.valid('query'), param: ctx.req.valid('param'), tenant: ctx.req.valid('header')['x-tenant'] }
    }

    @Route({ method: 'POST', path: '/zod', validate: { body: z.object({ email: z.email(), age: z.number().int().min(18) }) } })
    zod(ctx: Ctx) {
      return ctx.req.valid('json')
    }

    @Route({ method: 'GET', path: '/plain' })
    plain(ctx: Ctx) {
      try {
        return ctx.req.valid('query')
      } catch (err) {
        return { thrown: (err as Error).message }
      }
    }
  }
  return engine
}

const good = { name: 'pen', price: 2.5, tags: ['office'] }
const tenant = { 'content-type': 'application/json', 'x-tenant': '42' }

function post(engine: Engine, path: string, body: string, headers: Record<string, string> = tenant) {
  return engine.request(path, { method: 'POST', headers, body })
}

describe('@Route({ validate })', () => {
  it('hands the handler the body and the query, params and headers coerced to their types', async () => {
    const engine = build()
    const res = await post(engine, '/api/items/7?n=5&dry=true&tag=1&tag=2', JSON.stringify(good))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ body: good, query: { n: 5, dry: true, tag: [1, 2] }, param: { shop: 7 }, tenant: 42 })
  })

  it('answers an invalid request 400 with every violation, without calling JavaScript', async () => {
    const engine = build()
    await post(engine, '/api/items/1', JSON.stringify(good)) // warm: the engine is started
    const before = engine.stats().jsCalls
    const res = await post(engine, '/api/items/0?n=50&tag=x', JSON.stringify({ price: -1, tags: [3] }), { 'content-type': 'application/json' })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = await res.json()
    expect(body.error).toBe('Bad Request')
    const seen = body.errors.map((e: { in: string; path: string }) => `${e.in} ${e.path}`).sort()
    expect(seen).toEqual(['body ', 'body /price', 'body /tags/0', 'headers ', 'params /shop', 'query /n', 'query /tag/0'])
    for (const e of body.errors) expect(typeof e.message).toBe('string')
    expect(body.errors.find((e: { in: string; path: string }) => e.in === 'body' && e.path === '').message).toMatch(/name/)
    expect(engine.stats().jsCalls).toBe(before)
  })

  it('answers 400 to a body that is not JSON, or not declared as JSON', async () => {
    const engine = build()
    for (const [body, headers] of [
      ['{"name":', tenant],
      ['', tenant],
      [JSON.stringify(good), { 'content-type': 'text/plain', 'x-tenant': '1' }],
    ] as const) {
      const res = await post(engine, '/api/items/1', body, headers)
      expect(res.status, body).toBe(400)
      const answer = await res.json()
      expect(answer.errors).toEqual([{ in: 'body', path: '', message: expect.stringMatching(/JSON/) }])
    }
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('validates requests from a socket the same way', async () => {
    const engine = build()
    const { base } = await listen(engine)
    const ok = await fetch(`${base}/api/items/3?n=1`, { method: 'POST', headers: tenant, body: JSON.stringify(good) })
    expect(ok.status).toBe(200)
    expect((await ok.json()).query).toEqual({ n: 1 })
    const bad = await fetch(`${base}/api/items/3?n=1.5`, { method: 'POST', headers: tenant, body: JSON.stringify(good) })
    expect(bad.status).toBe(400)
    expect((await bad.json()).errors).toEqual([{ in: 'query', path: '/n', message: expect.any(String) }])
  })

  it('takes a zod schema', async () => {
    const engine = build()
    const ok = await post(engine, '/api/zod', JSON.stringify({ email: 'a@b.io', age: 20 }))
    expect(await ok.json()).toEqual({ email: 'a@b.io', age: 20 })
    const bad = await post(engine, '/api/zod', JSON.stringify({ email: 'nope', age: 17.5 }))
    expect(bad.status).toBe(400)
    expect((await bad.json()).errors.map((e: { path: string }) => e.path).sort()).toEqual(['/age', '/age', '/email', '/email'])
  })

  it("tells zod by its shape (another copy of zod), and treats another vendor's object as JSON Schema", async () => {
    const { Module, engine } = setup()
    // What a second copy of zod 4 looks like: not our zod's classes, same shape.
    const otherZod = {
      '~standard': { vendor: 'zod', version: 1, validate: () => ({ value: null }) },
      toJSONSchema: () => ({ type: 'object', required: ['id'], properties: { id: { type: 'integer' } } }),
    }
    // Not zod: its own keys are JSON Schema keywords (the `~standard` key is not one, and is ignored).
    const notZod = { '~standard': { vendor: 'valibot', version: 1 }, type: 'object', required: ['q'] }
    @Module('shapes')
    class Shapes {
      @Route({ method: 'POST', path: '/z', validate: { body: otherZod } })
      z(ctx: Ctx) {
        return ctx.req.valid('json')
      }
      @Route({ path: '/v', validate: { query: notZod } })
      v(ctx: Ctx) {
        return ctx.req.valid('query')
      }
    }
    expect((await post(engine, '/z', '{"id":3}')).status).toBe(200)
    expect((await post(engine, '/z', '{"id":"3"}')).status).toBe(400)
    expect(await (await engine.request('/v?q=1')).json()).toEqual({ q: '1' })
    expect((await engine.request('/v')).status).toBe(400)
  })

  it('valid() on a part without a schema throws a clear error', async () => {
    const res = await build().request('/api/plain')
    expect(await res.json()).toEqual({ thrown: "ctx.req.valid('query'): route GET /api/plain has no validate.query schema" })
  })

  it('fails start with the route and the part named when a schema does not compile', async () => {
    const { Module, engine } = setup()
    @Module('bad')
    class Bad {
      @Route({ path: '/bad', validate: { query: { type: 'nope' } } })
      bad() {
        return 'x'
      }
    }
    await expect(engine.start(0)).rejects.toThrow(/route GET \/bad: validate\.query: not a valid JSON Schema/)
  })

  it('fails start when a part is not a schema at all', async () => {
    const { Module, engine } = setup()
    @Module('bad')
    class Bad {
      @Route({ method: 'POST', path: '/bad', validate: { body: 42, cookies: {} } as never })
      bad() {
        return 'x'
      }
    }
    await expect(engine.start(0)).rejects.toThrow('@Route POST /bad: validate.cookies is not a part of a request')
  })

  it('fails start when a schema cannot be written as JSON (a cycle)', async () => {
    const { Module, engine } = setup()
    const cyclic: Record<string, unknown> = { type: 'object' }
    cyclic.properties = { self: cyclic }
    @Module('bad')
    class Bad {
      @Route({ method: 'POST', path: '/cycle', validate: { body: cyclic } })
      bad() {
        return 'x'
      }
    }
    await expect(engine.start(0)).rejects.toThrow(/route POST \/cycle: validate is not JSON/)
  })

  it('routeSchemas() gives the JSON Schemas for OpenAPI and clients', () => {
    const handler = {
      type: 'route',
      options: { method: 'POST', path: '/x', validate: { body: z.object({ a: z.string() }) }, returns: z.object({ id: z.number() }) },
    }
    const schemas = routeSchemas(handler as never)
    expect(schemas.body).toMatchObject({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })
    expect(schemas.returns).toMatchObject({ type: 'object', properties: { id: { type: 'number' } } })
    expect(schemas.query).toBeUndefined()
    expect(routeSchemas(handler as never)).toBe(schemas)
  })
})
