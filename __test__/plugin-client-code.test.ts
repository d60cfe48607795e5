// ClientCodePlugin: the generated TypeScript client of a service's actions,
// served at {prefix}/client.ts and written to clientSavePath; it compiles with
// `tsc --strict` next to a caller (in a project where nebula-native is
// installed, as a user has it) and that caller, run with tsx, calls a live
// server through it: plain calls, EJSON Dates, a refused call, a stream read
// to its end and a stream left early (which ends the server's generator).
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Action, ActionPlugin, ClientCodePlugin, generateClientCode, getZodTypeString, Route, RoutePlugin, Testing } from '../index.js'

const run = promisify(execFile)
const ROOT = path.resolve(__dirname, '..')
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs')

const engines: any[] = []
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

let project = ''
beforeAll(() => {
  // A user's project: nebula-native installed in its node_modules.
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-client-'))
  fs.mkdirSync(path.join(project, 'node_modules'))
  fs.symlinkSync(ROOT, path.join(project, 'node_modules', 'nebula-native'), 'dir')
})
afterAll(() => {
  if (project) fs.rmSync(project, { recursive: true, force: true })
})

const User = z.object({ id: z.string(), name: z.string(), age: z.number(), createdAt: z.date(), tags: z.array(z.string()).optional() })

function service(prefix = '', savePath?: string) {
  const t = Testing.createTestEngine({
    plugins: [new RoutePlugin({ prefix: '/r' }), new ActionPlugin(), new ClientCodePlugin(savePath ? { clientSavePath: savePath } : undefined)],
    options: { name: 'svc', version: '1.0.0', prefix },
  })
  engines.push(t.engine)
  let stopped!: () => void
  const tickerEnded = new Promise<void>((r) => {
    stopped = r
  })
  @t.Module('user-service', { routePrefix: '/users' })
  class UserService {
    @Route({
      path: '/:id',
      description: 'Reads a user',
      validate: { params: z.object({ id: z.string() }), query: z.object({ verbose: z.string().optional() }) },
    })
    getUser(ctx: any) {
      return { id: ctx.req.param('id'), verbose: ctx.req.query('verbose') ?? null }
    }

    @Route({
      method: 'POST',
      path: '/',
      validate: { body: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      returns: { type: 'object', properties: { added: { type: 'string' } }, required: ['added'] },
    })
    async addUser(ctx: any) {
      const body = await ctx.req.json()
      return { added: body.name }
    }

    @Route({ path: '/plain/text' })
    plainRoute() {
      return 'no schema: not in the client'
    }

    @Action({ description: 'Creates a user', params: [z.string(), z.number().min(0)], returns: User })
    createUser(name: string, age: number) {
      return { id: '1', name, age, createdAt: new Date(Date.UTC(2024, 0, 2)) }
    }

    @Action({ description: 'Finds users', params: [z.string().optional(), z.number().default(10)], returns: z.array(User), idempotence: true })
    find(q?: string, limit = 10) {
      return Array.from({ length: Math.min(limit, 2) }, (_, i) => ({ id: String(i), name: q ?? 'any', age: i, createdAt: new Date(i) }))
    }

    @Action({ description: 'Counts to n', params: [z.number()], returns: z.number(), stream: true })
    async *count(n: number) {
      for (let i = 1; i <= n; i++) yield i
    }

    @Action({ description: 'Ticks until the client leaves', params: [], returns: z.object({ tick: z.number() }), stream: true })
    async *ticker() {
      try {
        for (let tick = 0; ; tick++) {
          yield { tick }
          await new Promise((r) => setTimeout(r, 5))
        }
      } finally {
        stopped()
      }
    }
  }
  @t.Module('order-service')
  class OrderService {
    @Action({
      params: [z.object({ sku: z.string(), qty: z.number().int() }), z.enum(['fast', 'cheap']).nullable()],
      returns: z.union([z.literal('ok'), z.null()]),
    })
    place(item: { sku: string; qty: number }, shipping: 'fast' | 'cheap' | null) {
      return item.qty > 0 && shipping !== undefined ? 'ok' : null
    }
  }
  @t.Module('empty-service')
  class EmptyService {
    notAnAction() {}
  }
  return { engine: t.engine, tickerEnded, classes: [UserService, OrderService, EmptyService] }
}

const CALLER = `import { MicroserviceClient, ClientError } from './client.js'

async function main(): Promise<void> {
  const client = new MicroserviceClient({ baseUrl: process.argv[2] })
  const user = await client.userService.createUser('Ann', 30)
  const age: number = user.age
  const created: Date = user.createdAt
  const found = await client.userService.find(undefined, 1)
  const counted: number[] = []
  for await (const n of await client.userService.count(3)) counted.push(n)
  const ticks: number[] = []
  for await (const t of await client.userService.ticker()) {
    ticks.push(t.tick)
    if (ticks.length === 2) break
  }
  let refused = ''
  try {
    await client.userService.createUser('Bob', -1)
  } catch (err) {
    if (err instanceof ClientError) refused = err.message
  }
  const placed: 'ok' | null = await client.orderService.place({ sku: 'a', qty: 1 }, 'fast')
  const got = await client.routes.userService.getUser({ params: { id: 'u/7' }, query: { verbose: 'yes' } })
  const added = await client.routes.userService.addUser({ body: { name: 'Zed' } })
  // Typed from the route's returns schema (unknown before: a compile error under --strict).
  const addedName: string = added.added
  void addedName
  console.log(JSON.stringify({ name: user.name, age, isDate: created instanceof Date, year: created.getUTCFullYear(), found: found.length, counted, ticks, refused, placed, got, added }))
}

// Never called: the types refuse wrong calls.
export function typeChecks(client: MicroserviceClient): void {
  // @ts-expect-error: name is a string
  void client.userService.createUser(1, 2)
  // @ts-expect-error: no such action
  void client.userService.nothing()
  // @ts-expect-error: shipping is "fast" | "cheap" | null
  void client.orderService.place({ sku: 'a', qty: 1 }, 'slow')
  // @ts-expect-error: the body's name is required
  void client.routes.userService.addUser({ body: {} })
  // @ts-expect-error: params.id is required
  void client.routes.userService.getUser({})
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
`

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2022', 'DOM', 'DOM.AsyncIterable'],
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    skipLibCheck: false,
  },
  files: ['client.ts', 'caller.ts'],
}

describe('ClientCodePlugin', () => {
  it('serves the client at /client.ts and writes the same code to clientSavePath (folders created)', async () => {
    const savePath = path.join(project, 'gen', 'nested', 'client.ts')
    const { engine } = service('', savePath)
    const port = await engine.start()
    const res = await fetch(`http://127.0.0.1:${port}/client.ts`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/typescript')
    expect(res.headers.get('content-disposition')).toContain('filename="client.ts"')
    const code = await res.text()
    expect(fs.readFileSync(savePath, 'utf8')).toBe(code)
    expect(code).toContain('// 这个文件是自动生成的，请不要手动修改')
    expect(code).toContain('from "nebula-native/client"')
    expect(code).toContain('export interface UserServiceModule')
    expect(code).toContain('export interface OrderServiceModule')
    expect(code).toContain('createUser: (name: string, age: number) => Promise<{ id: string; name: string; age: number; createdAt: Date; tags?: string[] }>;')
    expect(code).toContain('find: (q?: string, limit?: number) =>')
    expect(code).toContain('count: (n: number) => Promise<AsyncIterable<number>>;')
    expect(code).toContain('Creates a user')
    expect(code).toContain('public readonly userService = this.registerModule<UserServiceModule>("user-service", {')
    expect(code).toContain('find: { idempotent: true, stream: false },')
    expect(code).toContain('count: { idempotent: false, stream: true },')
    expect(code).not.toMatch(/empty-service|EmptyService|emptyService/)
    // Routes with schemas: typed functions by module, at their full path; a route without schemas is left out.
    expect(code).toContain('getUser: (input: { params: { id: string }; query?: { verbose?: string }; headers?: Record<string, string> }) => Promise<unknown>;')
    // A route's returns schema types its result; without one (getUser) it is unknown.
    expect(code).toContain('addUser: (input: { body: { name: string }; headers?: Record<string, string> }) => Promise<{ added: string }>;')
    expect(code).toContain('getUser: { method: "GET", path: "/r/users/:id" },')
    expect(code).toContain('addUser: { method: "POST", path: "/r/users" },')
    expect(code).not.toContain('plainRoute')
  })

  it('serves at {prefix}/client.ts, and the generated client defaults to that prefix', async () => {
    const { engine } = service('/api')
    const port = await engine.start()
    expect((await fetch(`http://127.0.0.1:${port}/client.ts`)).status).toBe(404)
    const code = await (await fetch(`http://127.0.0.1:${port}/api/client.ts`)).text()
    expect(code).toContain('super({ prefix: "/api", ...options });')
  })

  it('generates a client that compiles with tsc --strict and calls a live server, streams included', async () => {
    const { engine, tickerEnded } = service('/api', path.join(project, 'client.ts'))
    const port = await engine.start()
    fs.writeFileSync(path.join(project, 'caller.ts'), CALLER)
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2))
    const tsc = await run(process.execPath, [TSC, '-p', project], { cwd: project }).catch((err) => err)
    expect(`${tsc.stdout ?? ''}${tsc.stderr ?? ''}`).toBe('')
    const out = await run(process.execPath, [TSX, 'caller.ts', `http://127.0.0.1:${port}`], { cwd: project })
    expect(JSON.parse(out.stdout)).toEqual({
      name: 'Ann',
      age: 30,
      isDate: true,
      year: 2024,
      found: 1,
      counted: [1, 2, 3],
      ticks: [0, 1],
      refused: expect.stringContaining('参数[1]'),
      placed: 'ok',
      got: { id: 'u/7', verbose: 'yes' },
      added: { added: 'Zed' },
    })
    // The caller left the ticker after two values: the server's generator ended.
    await tickerEnded
  }, 60_000)

  it('generates parameter types TypeScript accepts when an optional argument comes before a required one', async () => {
    const t = Testing.createTestEngine({ plugins: [new ActionPlugin(), new ClientCodePlugin()] })
    engines.push(t.engine)
    @t.Module('m')
    class M {
      @Action({ params: [z.string(), z.number().optional(), z.boolean()] })
      mixed(a: string, b: number | undefined, c: boolean) {
        return [a, b, c]
      }
    }
    const res: Response = await t.engine.request('/client.ts')
    expect(await res.text()).toContain('mixed: (a: string, b: number | undefined, c: boolean) => Promise<void>;')
    expect(M).toBeDefined()
  })

  it('exports nebula-native/client to require() and import alike', async () => {
    const names = 'Object.keys(m).filter((k) => k !== "default").sort().join()'
    const cjs = await run(process.execPath, ['-e', `const m = require('nebula-native/client'); console.log(${names})`], { cwd: ROOT })
    const esm = await run(process.execPath, ['--input-type=module', '-e', `const m = await import('nebula-native/client'); console.log(${names})`], {
      cwd: ROOT,
    })
    const expected = 'BaseMicroserviceClient,ClientError,ConnectionError,MicroserviceClient,StreamError,TimeoutError,takeFrame'
    expect(cjs.stdout.trim()).toBe(expected)
    expect(esm.stdout.trim()).toBe(expected)
  })

  it("offers nebula's generator functions: generateClientCode (a promise) and getZodTypeString", async () => {
    const code = await generateClientCode({
      'user-service': { name: 'user-service', actions: { get: { params: [z.string().describe('id')], returns: z.string() } } },
    })
    expect(code).toContain('get: (id: string) => Promise<string>;')
    expect(getZodTypeString(z.object({ a: z.string().default('x'), b: z.map(z.number(), z.date()) }), true)).toBe('{ a?: string; b: Map<number, Date> }')
  })

  it('refuses a bad clientSavePath', () => {
    expect(() => new ClientCodePlugin({ clientSavePath: 42 as any })).toThrow(/clientSavePath must be a non-empty path/)
    expect(new ClientCodePlugin().name).toBe('client-code-plugin')
  })
})
