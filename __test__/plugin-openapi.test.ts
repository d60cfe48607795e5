// OpenApiPlugin: the OpenAPI 3.1 document of routes and actions, checked by an OpenAPI
// validator (and every local $ref resolved in it), the answers it declares compared with what
// the engine answers, and its Swagger UI page opened in headless Chromium.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Action, ActionPlugin, Handler, JwtAuthPlugin, OpenApiPlugin, Route, RoutePlugin, Testing } from '../index.js'

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

/** Every `$ref` of `doc` (not inside data keywords), with where it is. */
function refsOf(node: unknown, at = '', out: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) node.forEach((n, i) => refsOf(n, `${at}/${i}`, out))
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v])
      else if (!['const', 'enum', 'default', 'examples', 'example'].includes(k)) refsOf(v, `${at}/${k}`, out)
    }
  }
  return out
}

/** What a local ref points at in `doc` (undefined: nothing). */
function resolve(doc: any, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined
  let node = doc
  for (const token of ref.slice(2).split('/')) {
    const key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~')
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined
    node = node[key]
  }
  return node
}

async function validOpenApi(doc: unknown) {
  const result = await new Validator().validate(doc as any)
  expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([])
  expect(result.valid).toBe(true)
  // Inside an OpenAPI document `#` is the document: every local ref must point into it, at a schema.
  const dangling = refsOf(doc).filter(([, ref]) => ref.startsWith('#') && (ref === '#' || resolve(doc, ref) === undefined || !ref.startsWith('#/components/')))
  expect(dangling, JSON.stringify(dangling)).toEqual([])
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
    const { Module, engine } = setup([new RoutePlugin({ prefix: '/api' }), new ActionPlugin(), new OpenApiPlugin({ info: { description: 'The shop' } })])
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
    // the 400 route validation answers (crates/nebula-core/src/http/validate)
    expect(get.responses['400'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ValidationError' })
    expect(doc.components.schemas.ValidationError).toMatchObject({
      required: ['error', 'message', 'errors'],
      properties: { errors: { type: 'array', items: { required: ['in', 'path', 'message'] } } },
    })
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

  it('declares the 400 route validation really answers, and not on a route that validates nothing', async () => {
    const { Module, engine } = setup([new RoutePlugin({ prefix: '/api' }), new OpenApiPlugin()])
    declareShop(Module)
    const doc = await (await engine.request('/openapi.json')).json()
    const bad = await engine.request('/api/users/abc?limit=x')
    expect(bad.status).toBe(400)
    const answer = await bad.json()
    const shape = doc.components.schemas.ValidationError
    expect(Object.keys(answer).sort()).toEqual(Object.keys(shape.properties).sort())
    for (const e of answer.errors) expect(Object.keys(e).sort()).toEqual(Object.keys(shape.properties.errors.items.properties).sort())
    expect(shape.properties.errors.items.properties.in.enum).toEqual(expect.arrayContaining(answer.errors.map((e: { in: string }) => e.in)))
    expect(doc.paths['/api/users/files/{wildcard}'].get.responses['400']).toBeUndefined()
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
    expect(get.responses['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' })
    // no permission or role needed: a token that is valid is enough, no 403
    expect(get.responses['403']).toBeUndefined()
    // the permissions and roles the token needs, as OpenAPI 3.1's role names (every permission, and one role)
    const remove = doc.paths['/api/users/{id}'].delete
    expect(remove.security).toEqual([{ bearerAuth: ['users:delete', 'admin'] }])
    expect(remove['x-permissions']).toEqual(['users:delete'])
    expect(remove['x-roles']).toEqual(['admin'])
    expect(remove.description).toMatch(/every permission of "users:delete" and one of the roles "admin"/)
    expect(remove.responses['403']).toBeDefined()
    const files = doc.paths['/api/users/files/{wildcard}'].get
    expect(files.security).toBeUndefined()
    expect(files.responses['401']).toBeUndefined()
    // the document itself needs no token (it is no route of a module)
    expect((await engine.request('/spec.json')).status).toBe(200)
  })

  it("keeps JwtAuthPlugin's permissions (all needed) apart from its roles (any one), for routes and actions, module defaults included", async () => {
    const { Module, engine } = setup([
      new RoutePlugin(),
      new ActionPlugin(),
      new JwtAuthPlugin({ algorithm: 'HS256', secret: 'x'.repeat(32) }),
      new OpenApiPlugin(),
    ])
    @Module('admin', { jwtPermissions: ['admin:read'], jwtRoles: ['ops', 'sre'] })
    class Admin {
      @Route({ path: '/audit' })
      audit() {}

      @Route({ path: '/ping', public: true })
      ping() {}

      @Action({ params: [] })
      inherited() {}

      @Action({ params: [], permissions: ['a', 'b'], roles: [] } as any)
      own() {}

      @Action({ params: [], public: true } as any)
      open() {}
    }
    void Admin
    const doc = await (await engine.request('/openapi.json')).json()
    await validOpenApi(doc)
    const either = [{ bearerAuth: ['admin:read', 'ops'] }, { bearerAuth: ['admin:read', 'sre'] }]
    expect(doc.paths['/audit'].get.security).toEqual(either)
    expect(doc.paths['/audit'].get['x-roles']).toEqual(['ops', 'sre'])
    for (const method of ['get', 'post']) {
      const inherited = doc.paths['/admin/inherited'][method]
      expect(inherited.security).toEqual(either)
      expect(inherited['x-permissions']).toEqual(['admin:read'])
      expect(inherited.responses['403']).toBeDefined()
      const own = doc.paths['/admin/own'][method]
      expect(own.security).toEqual([{ bearerAuth: ['a', 'b'] }])
      expect(own['x-permissions']).toEqual(['a', 'b'])
      expect(own['x-roles']).toBeUndefined()
      const open = doc.paths['/admin/open'][method]
      expect(open.security).toBeUndefined()
      expect(open.responses['401']).toBeUndefined()
    }
    expect(doc.paths['/ping'].get.security).toBeUndefined()
    // what the document says is what the engine does
    expect((await engine.request('/admin/inherited', { method: 'POST' })).status).toBe(401)
    expect((await engine.request('/admin/open', { method: 'POST' })).status).toBe(200)
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

describe('OpenApiPlugin: schemas with definitions', () => {
  it('moves recursive zod schemas and their $defs into components.schemas, refs rewritten', async () => {
    const { Module, engine } = setup([new RoutePlugin(), new ActionPlugin(), new OpenApiPlugin()])
    type Tree = { name: string; children: Tree[] }
    const Tree: z.ZodType<Tree> = z.object({
      name: z.string(),
      get children() {
        return z.array(Tree)
      },
    })
    type List = { value: number; next?: List }
    const List: z.ZodType<List> = z.lazy(() => z.object({ value: z.number(), next: List.optional() }))
    const User = z.object({ id: z.string() }).meta({ id: 'User' })
    @Module('trees')
    class Trees {
      @Route({ method: 'POST', path: '/trees', validate: { body: Tree }, returns: Tree })
      plant() {}

      @Route({ method: 'POST', path: '/lists', validate: { body: z.object({ head: List }) }, returns: z.object({ owner: User, friends: z.array(User) }) })
      link() {}

      @Route({ path: '/users/:id', returns: User })
      user() {}

      @Action({ params: [Tree, List.optional()], returns: Tree })
      count() {}
    }
    void Trees
    const doc = await (await engine.request('/openapi.json')).json()
    await validOpenApi(doc)
    const schemas = doc.components.schemas
    // a getter-recursive root becomes a component, and `#` points at it
    const plant = doc.paths['/trees'].post
    const treeRef = plant.requestBody.content['application/json'].schema.$ref
    expect(treeRef).toMatch(/^#\/components\/schemas\//)
    const tree = resolve(doc, treeRef) as any
    expect(tree.properties.children.items).toEqual({ $ref: treeRef })
    expect(tree.$schema).toBeUndefined()
    // z.lazy's #/$defs/__schema0 is a component too
    const list = doc.paths['/lists'].post.requestBody.content['application/json'].schema
    expect(list.$defs).toBeUndefined()
    const listNode = resolve(doc, list.properties.head.$ref) as any
    expect(listNode.properties.next).toEqual({ $ref: list.properties.head.$ref })
    // a schema with an id is stored once, under its id, wherever it is used
    expect(schemas.User).toMatchObject({ type: 'object', properties: { id: { type: 'string' } }, required: ['id'] })
    expect(doc.paths['/users/{id}'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/User' })
    expect(doc.paths['/lists'].post.responses['200'].content['application/json'].schema.properties.owner).toEqual({ $ref: '#/components/schemas/User' })
    // action arguments and results alike
    const count = doc.paths['/trees/count'].post
    expect(resolve(doc, count.requestBody.content['application/json'].schema.properties['0'].$ref)).toMatchObject({ type: 'object' })
    expect(resolve(doc, count.responses['200'].content['application/json'].schema.properties.data.$ref)).toMatchObject({ type: 'object' })
    expect(JSON.stringify(doc)).not.toMatch(/"#\/\$defs|"#\/definitions|"\$ref":"#"/)
  })

  it('does the same for JSON Schemas written with $defs or definitions, without touching them', async () => {
    const { Module, engine } = setup([new RoutePlugin(), new OpenApiPlugin()])
    const node = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { label: { $ref: '#/$defs/Label' }, kids: { type: 'array', items: { $ref: '#' } } },
      $defs: { Label: { type: 'string', minLength: 1 } },
    }
    const legacy = { type: 'object', properties: { a: { $ref: '#/definitions/Error' } }, definitions: { Error: { type: 'integer' } } }
    const before = JSON.stringify([node, legacy])
    @Module('docs')
    class Docs {
      @Route({ method: 'POST', path: '/nodes', validate: { body: node } })
      add() {}

      @Route({ path: ['/legacy', '/legacy2'], validate: { query: legacy } })
      old() {}
    }
    void Docs
    const doc = await (await engine.request('/openapi.json')).json()
    await validOpenApi(doc)
    expect(JSON.stringify([node, legacy])).toBe(before)
    const body = resolve(doc, doc.paths['/nodes'].post.requestBody.content['application/json'].schema.$ref) as any
    expect(resolve(doc, body.properties.label.$ref)).toEqual({ type: 'string', minLength: 1 })
    // `Error` is the document's own: the user's definition gets another name
    const a = doc.paths['/legacy'].get.parameters.find((p: { name: string }) => p.name === 'a')
    expect(a.schema.$ref).not.toBe('#/components/schemas/Error')
    expect(resolve(doc, a.schema.$ref)).toEqual({ type: 'integer' })
    // stored once, though the route has two paths
    expect(Object.keys(doc.components.schemas).filter((k) => k.startsWith('Error'))).toEqual(['Error', a.schema.$ref.split('/').pop()])
    expect(doc.paths['/legacy2'].get.parameters[0].schema).toEqual(a.schema)
    // the route still validates as written
    expect((await engine.request('/nodes', { method: 'POST', body: '{"label":"","kids":[]}', headers: { 'content-type': 'application/json' } })).status).toBe(
      400,
    )
  })
})

describe('OpenApiPlugin: actions', () => {
  it('documents actions only when ActionPlugin serves them', async () => {
    const { Module, engine } = setup([new RoutePlugin({ prefix: '/api' }), new OpenApiPlugin()])
    declareShop(Module)
    const doc = await (await engine.request('/openapi.json')).json()
    await validOpenApi(doc)
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/users', '/api/users/files/{wildcard}', '/api/users/{id}'])
    expect((await engine.request('/math/add', { method: 'POST', body: '{"0":1,"1":2}' })).status).toBe(404)
  })

  it('documents GET and POST, the required arguments, the envelopes and the stream frames, under the engine prefix', async () => {
    const made = Testing.createTestEngine({ plugins: [new ActionPlugin(), new OpenApiPlugin()], options: { name: 'calc', version: '1.0.0', prefix: '/rpc' } })
    engines.push(made.engine)
    const { Module, engine } = made
    @Module('calc')
    class Calc {
      @Action({ params: [z.number(), z.number().optional(), z.number().default(1)], returns: z.number() })
      scale(a: number, b = 1, c = 1) {
        return a * b * c
      }

      @Action({ params: [z.string().optional()] })
      greet(name?: string) {
        return `hi ${name ?? 'you'}`
      }

      @Action({ params: [z.number()], returns: z.object({ i: z.number() }), stream: true })
      async *count(n: number) {
        for (let i = 0; i < n; i++) yield { i }
      }
    }
    void Calc
    const doc = await (await engine.request('/openapi.json')).json()
    await validOpenApi(doc)
    expect(Object.keys(doc.paths).sort()).toEqual(['/rpc/calc/count', '/rpc/calc/greet', '/rpc/calc/scale'])

    const scale = doc.paths['/rpc/calc/scale']
    expect(scale.post.requestBody.required).toBe(true)
    expect(scale.post.requestBody.content['application/json'].schema.required).toEqual(['0'])
    expect(scale.get.parameters.map((p: any) => [p.name, p.in, p.required, p.schema.type])).toEqual([
      ['0', 'query', true, 'number'],
      ['1', 'query', false, 'number'],
      ['2', 'query', false, 'number'],
    ])
    expect(scale.get.operationId).not.toBe(scale.post.operationId)
    // the envelopes ActionPlugin answers with
    for (const method of ['get', 'post']) {
      const { responses } = scale[method]
      expect(responses['200'].content['application/json'].schema).toMatchObject({ properties: { success: { const: true }, data: { type: 'number' } } })
      expect(responses['400'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ActionError' })
      expect(responses['500'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ActionError' })
    }
    expect(doc.components.schemas.ActionError).toEqual({
      type: 'object',
      properties: { success: { const: false }, error: { type: 'string' } },
      required: ['success', 'error'],
    })
    const refused = await engine.request('/rpc/calc/scale?1=2')
    expect(refused.status).toBe(400)
    expect(Object.keys(await refused.json()).sort()).toEqual(['error', 'success'])
    expect(await (await engine.request('/rpc/calc/scale?0=3&1=2')).json()).toEqual({ success: true, data: 6 })

    // every argument optional: the body may be left out
    const greet = doc.paths['/rpc/calc/greet']
    expect(greet.post.requestBody.required).toBe(false)
    expect(greet.post.requestBody.content['application/json'].schema.required).toBeUndefined()
    expect(greet.get.parameters[0]).toMatchObject({ name: '0', required: false })
    expect((await engine.request('/rpc/calc/greet', { method: 'POST' })).status).toBe(200)

    // a stream: text/event-stream of {value, done} frames, value described by returns
    const stream = doc.paths['/rpc/calc/count'].post.responses['200'].content
    expect(stream['application/json']).toBeUndefined()
    const frames = stream['text/event-stream'].schema.anyOf
    expect(frames[0]).toMatchObject({ properties: { value: { type: 'object', properties: { i: { type: 'number' } } }, done: { const: false } } })
    expect(frames).toContainEqual(expect.objectContaining({ properties: { error: { type: 'string' }, done: { const: true } }, required: ['error', 'done'] }))
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
    const js = await fetch(`http://127.0.0.1:${port}/docs/assets/swagger-ui-bundle.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    // revalidated by its ETag
    const again = await fetch(`http://127.0.0.1:${port}/docs/assets/swagger-ui.css`, { headers: { 'if-none-match': String(css.headers.get('etag')) } })
    expect(again.status).toBe(304)
    await js.arrayBuffer()
    await css.arrayBuffer()
  })

  it("serves only the page's files, not swagger-ui-dist's Petstore demo", async () => {
    const { engine } = setup([new OpenApiPlugin({ ui: true })])
    const port = await engine.start()
    for (const file of ['index.html', 'swagger-initializer.js', 'package.json', 'swagger-ui-bundle.js.map', 'oauth2-redirect.html', '']) {
      const res = await fetch(`http://127.0.0.1:${port}/docs/assets/${file}`)
      expect(res.status, file).toBe(404)
      expect(await res.text()).not.toMatch(/petstore/i)
    }
  })

  it.skipIf(!haveChromium)(
    'lists the operations in headless Chromium',
    async () => {
      const { Module, engine } = setup([new RoutePlugin({ prefix: '/api' }), new ActionPlugin(), new OpenApiPlugin({ ui: { path: '/reference' } })])
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
        expect(paths.sort()).toEqual([
          '/api/users',
          '/api/users',
          '/api/users/files/{wildcard}',
          '/api/users/{id}',
          '/api/users/{id}',
          '/math/add',
          '/math/add',
        ])
        expect(await page.textContent('.title')).toContain('shop')
      } finally {
        await browser.close()
        rmSync(profile, { recursive: true, force: true })
      }
    },
    60_000,
  )
})
