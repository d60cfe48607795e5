// OpenApiPlugin: the OpenAPI 3.1 document of routes and actions, checked by an OpenAPI
// validator, and its Swagger UI page opened in headless Chromium.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Handler, JwtAuthPlugin, OpenApiPlugin, Route, RoutePlugin, Testing } from '../index.js'

const CHROMIUM = '/usr/bin/chromium'
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium) console.warn(`[plugin-openapi] skipping the browser test: ${CHROMIUM} is not installed (apt-get install chromium)`)

const engines: { stop(): Promise<void> }[] = []
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop()
})

function setup(plugins: any[]) {
  const made = Testing.createTestEngine({ plugins, options: { name: 'shop', version: '2.1.0' } })
  engines.push(made.engine)
  return made
}

async function validOpenApi(doc: unknown) {
  const result = await new Validator().validate(doc as any)
  expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([])
  expect(result.valid).toBe(true)
}

function declareShop(Module: any) {
  @Module('users', { routePrefix: '/users' })
  class Users {
    @Route({
      path: '/:id',
      description: 'One user',
      validate: { params: z.object({ id: z.string().regex(/^\d+$/) }), query: z.object({ fields: z.string().optional(), limit: z.number().int() }) },
      returns: z.object({ id: z.string(), name: z.string() }),
    })
    get() {
      return { id: '1', name: 'Ada' }
    }

    @Route({ method: ['POST', 'PUT'], path: '/', validate: { body: z.object({ name: z.string().min(1) }), headers: z.object({ 'X-Request-Id': z.string() }) } })
    create() {
      return { id: '2' }
    }

    @Route({ method: 'DELETE', path: '/:id', permissions: ['users:delete'], roles: ['admin'] })
    remove() {}

    @Route({ path: '/files/*', public: true })
    files() {
      return 'file'
    }
  }
  @Module('math')
  class MathActions {
    @Handler({ type: 'action', options: { params: [z.number(), z.number()], returns: z.number(), description: 'Adds two numbers' } })
    add(a: number, b: number) {
      return a + b
    }
  }
  return { Users, MathActions }
}

describe('OpenApiPlugin: the document', () => {
  it('describes paths, parameters, bodies, responses and descriptions, and is valid OpenAPI 3.1', async () => {
    const { Module, engine } = setup([new RoutePlugin({ prefix: '/api' }), new OpenApiPlugin({ info: { description: 'The shop' } })])
    declareShop(Module)
    const res = await engine.request('/openapi.json')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const doc = await res.json()
    await validOpenApi(doc)
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info).toEqual({ title: 'shop', version: '2.1.0', description: 'The shop' })
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/users', '/api/users/files/{wildcard}', '/api/users/{id}', '/math/add'])

    const get = doc.paths['/api/users/{id}'].get
    expect(get).toMatchObject({ operationId: 'users.get', tags: ['users'], summary: 'One user', description: 'One user' })
    expect(get.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^\\d+$' } },
      { name: 'fields', in: 'query', required: false, schema: { type: 'string' } },
      { name: 'limit', in: 'query', required: true, schema: { type: 'integer', minimum: expect.any(Number), maximum: expect.any(Number) } },
    ])
    expect(get.responses['200'].content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { id: { type: 'string' }, name: { type: 'string' } },
      required: ['id', 'name'],
    })
    expect(get.responses['400'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' })
    expect(get.security).toBeUndefined()

    for (const method of ['post', 'put']) {
      const op = doc.paths['/api/users'][method]
      expect(op.requestBody).toMatchObject({
        required: true,
        content: { 'application/json': { schema: { properties: { name: { type: 'string', minLength: 1 } } } } },
      })
      expect(op.parameters).toEqual([{ name: 'x-request-id', in: 'header', required: true, schema: { type: 'string' } }])
    }
    expect(doc.paths['/api/users'].post.operationId).not.toBe(doc.paths['/api/users'].put.operationId)
    expect(doc.paths['/api/users/files/{wildcard}'].get.parameters[0]).toMatchObject({ name: 'wildcard', in: 'path', required: true })
    // no `returns`: 200 or 204 without a declared body
    expect(doc.paths['/api/users/files/{wildcard}'].get.responses['204']).toBeDefined()

    const add = doc.paths['/math/add'].post
    expect(add.description).toBe('Adds two numbers')
    expect(add.requestBody.content['application/json'].schema.properties).toEqual({ 0: { type: 'number' }, 1: { type: 'number' } })
    expect(add.responses['200'].content['application/json'].schema.properties.data).toEqual({ type: 'number' })
  })

  it("declares JwtAuthPlugin's bearer scheme on the routes that are not public", async () => {
    const { Module, engine } = setup([
      new RoutePlugin({ prefix: '/api' }),
      new JwtAuthPlugin({ algorithm: 'HS256', secret: 'x'.repeat(32) }),
      new OpenApiPlugin({ path: '/spec.json' }),
    ])
    declareShop(Module)
    const doc = await (await engine.request('/spec.json')).json()
    await validOpenApi(doc)
    expect(doc.components.securitySchemes).toEqual({ bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } })
    const get = doc.paths['/api/users/{id}'].get
    expect(get.security).toEqual([{ bearerAuth: [] }])
    expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['401', '403']))
    // the permissions and roles the token needs, as OpenAPI 3.1's role names
    expect(doc.paths['/api/users/{id}'].delete.security).toEqual([{ bearerAuth: ['users:delete', 'admin'] }])
    const files = doc.paths['/api/users/files/{wildcard}'].get
    expect(files.security).toBeUndefined()
    expect(files.responses['401']).toBeUndefined()
    // the document itself needs no token (it is no route of a module)
    expect((await engine.request('/spec.json')).status).toBe(200)
  })

  it('an engine without routes still serves a valid document', async () => {
    const { engine } = setup([new OpenApiPlugin()])
    const doc = await (await engine.request('/openapi.json')).json()
    await validOpenApi(doc)
    expect(doc.paths).toEqual({})
  })

  it('refuses bad options, naming them', () => {
    expect(() => new OpenApiPlugin({ path: 'openapi.json' })).toThrow(/OpenApiPlugin: path must be a path starting with '\/'/)
    expect(() => new OpenApiPlugin({ path: '/a/:b' })).toThrow(/path must be a path/)
    expect(() => new OpenApiPlugin({ info: 'x' as any })).toThrow(/info must be an OpenAPI info object/)
    expect(() => new OpenApiPlugin({ ui: { path: '/openapi.json' } })).toThrow(/ui.path must differ/)
    expect(() => new OpenApiPlugin({ ui: { dir: 'x' } as any })).toThrow(/unknown ui option "dir"/)
    expect(() => new OpenApiPlugin({ title: 'x' } as any)).toThrow(/unknown option "title"/)
  })
})

describe('OpenApiPlugin: the Swagger UI page', () => {
  it('serves the page and its assets (static files)', async () => {
    const { Module, engine } = setup([new RoutePlugin(), new OpenApiPlugin({ ui: true })])
    declareShop(Module)
    const page = await engine.request('/docs')
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const html = await page.text()
    expect(html).toContain('<script src="/docs/assets/swagger-ui-bundle.js"></script>')
    expect(html).toContain('url: "/openapi.json"')
    const port = await engine.start()
    const css = await fetch(`http://127.0.0.1:${port}/docs/assets/swagger-ui.css`)
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toMatch(/^text\/css/)
  })

  it.skipIf(!haveChromium)(
    'lists the operations in headless Chromium',
    async () => {
      const { Module, engine } = setup([new RoutePlugin({ prefix: '/api' }), new OpenApiPlugin({ ui: { path: '/reference' } })])
      declareShop(Module)
      const port = await engine.start()
      const { chromium } = await import('playwright-core')
      const profile = mkdtempSync(join(tmpdir(), 'nebula-openapi-'))
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
      try {
        const page = await browser.newPage()
        await page.goto(`http://127.0.0.1:${port}/reference`)
        await page.waitForSelector('.opblock-summary-path')
        const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path')))
        expect(paths.sort()).toEqual(['/api/users', '/api/users', '/api/users/files/{wildcard}', '/api/users/{id}', '/api/users/{id}', '/math/add'])
        expect(await page.textContent('.title')).toContain('shop')
      } finally {
        await browser.close()
        rmSync(profile, { recursive: true, force: true })
      }
    },
    60_000,
  )
})
