// ActionPlugin: nebula-engine's @Action over HTTP. Paths and methods, the
// EJSON wire format (a Date round trip), coercion of query strings, nebula's
// validation and error bodies, streamed generators framed as nebula frames
// them, a disconnecting client ending the generator (its finally block runs,
// its AbortSignal aborts), middleware order, module option validation, and
// the metadata other plugins read (idempotence).
import http from 'node:http'
import * as ejson from 'ejson'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Action, ActionPlugin, type ActionContext, Handler, ModuleConfigValidationError, RateLimitPlugin, Testing } from '../index.js'

const engines: any[] = []

function setup(options?: Record<string, unknown>, plugins: any[] = [new ActionPlugin()]) {
  const t = Testing.createTestEngine({ plugins, options: options as any })
  engines.push(t.engine)
  return t
}

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

async function call(engine: any, path: string, args?: Record<string, unknown>) {
  const res: Response = await engine.request(path, args === undefined ? undefined : { method: 'POST', body: ejson.stringify(args as any) })
  return { status: res.status, type: res.headers.get('content-type'), body: ejson.parse(await res.text()) as any }
}

describe('ActionPlugin: paths, methods, wire format', () => {
  it('serves an action on GET (query) and POST (EJSON body) at /{module}/{method}, under the engine prefix', async () => {
    const { Module, engine } = setup({ name: 't', version: '1', prefix: '/api' })
    @Module('user-service')
    class UserService {
      @Action({ params: [z.string(), z.number()] })
      greet(name: string, times: number) {
        return { text: `hi ${name}`.repeat(times) }
      }
    }
    const port = await engine.start()
    const get = await fetch(`http://127.0.0.1:${port}/api/user-service/greet?0=Ann&1=2`)
    expect(get.status).toBe(200)
    expect(get.headers.get('content-type')).toBe('application/json')
    expect(ejson.parse(await get.text())).toEqual({ success: true, data: { text: 'hi Annhi Ann' } })
    const post = await fetch(`http://127.0.0.1:${port}/api/user-service/greet`, {
      method: 'POST',
      headers: { 'content-type': 'application/ejson' },
      body: ejson.stringify({ '0': 'Bo', '1': 1 }),
    })
    expect(ejson.parse(await post.text())).toEqual({ success: true, data: { text: 'hi Bo' } })
    expect((await fetch(`http://127.0.0.1:${port}/user-service/greet?0=x&1=1`)).status).toBe(404)
    expect((await fetch(`http://127.0.0.1:${port}/api/user-service/greet`, { method: 'PUT' })).status).toBe(405)
    expect(engine.handler(UserService, 'greet')).toBeTypeOf('function')
  })

  it('round-trips EJSON: a Date argument arrives as a Date, a Date result leaves as {"$date": ms}', async () => {
    const { Module, engine } = setup()
    @Module('clock')
    class Clock {
      @Action({ params: [z.date()], returns: z.object({ later: z.date(), ms: z.number() }) })
      addHour(at: Date) {
        return { later: new Date(at.getTime() + 3_600_000), ms: at.getTime() }
      }
    }
    const at = new Date('2024-05-01T10:00:00Z')
    const res: Response = await engine.request('/clock/addHour', { method: 'POST', body: ejson.stringify({ '0': at }) })
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({ success: true, data: { later: { $date: at.getTime() + 3_600_000 }, ms: at.getTime() } })
    const parsed = ejson.parse(text) as any
    expect(parsed.data.later).toBeInstanceOf(Date)
    expect(engine.handler(Clock, 'addHour')).toBeTypeOf('function')
  })

  it('coerces query strings toward the schemas as nebula does ("42" → 42, "yes" → true, "" → undefined for optional)', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Action({ params: [z.number(), z.boolean(), z.string().optional(), z.number().nullable()] })
      echo(n: number, b: boolean, s?: string, x?: number | null) {
        return { n, b, s: s ?? 'none', x }
      }
    }
    const r = await call(engine, '/m/echo?0=42&1=yes&2=&3=')
    expect(r.body).toEqual({ success: true, data: { n: 42, b: true, s: 'none', x: null } })
    expect(engine.get(M)).toBeDefined()
  })

  it("answers 400 with nebula's message for bad arguments: 参数[i].path and the received value", async () => {
    const { Module, engine } = setup()
    const Address = z.object({ city: z.string(), zip: z.string().regex(/^\d{5}$/) })
    @Module('m')
    class M {
      @Action({ params: [z.string(), z.object({ age: z.number(), address: Address })] })
      save(name: string, user: { age: number; address: z.infer<typeof Address> }) {
        return { name, user }
      }
    }
    const bad = await call(engine, '/m/save', { '0': 'Ann', '1': { age: 'old', address: { zip: '1' } } })
    expect(bad.status).toBe(400)
    expect(bad.type).toBe('application/json')
    expect(bad.body.success).toBe(false)
    expect(bad.body.error).toMatch(/^Validation failed: /)
    expect(bad.body.error).toContain('参数[1].age: Invalid input: expected number, received string, received "old"')
    expect(bad.body.error).toContain('参数[1].address.city')
    expect(bad.body.error).toContain('参数[1].address.zip')
    const missing = await call(engine, '/m/save', {})
    expect(missing.status).toBe(400)
    expect(missing.body.error).toContain('参数[0]: Invalid input: expected string, received undefined')
    expect(M).toBeDefined()
  })

  it('answers 400 for a malformed EJSON body, and for a result that `returns` refuses', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Action({ params: [z.string()], returns: z.object({ id: z.number() }) })
      get(id: string) {
        return { id } as any
      }
    }
    const res: Response = await engine.request('/m/get', { method: 'POST', body: '{"0": ' })
    expect(res.status).toBe(400)
    const body = ejson.parse(await res.text()) as any
    expect(body.success).toBe(false)
    expect(body.error).toMatch(/^Malformed EJSON body: /)
    const refused = await call(engine, '/m/get', { '0': 'abc' })
    expect(refused.status).toBe(400)
    expect(refused.body).toEqual({
      success: false,
      error: 'Return value validation failed: id: Invalid input: expected number, received string, received "abc"',
    })
    expect(M).toBeDefined()
  })

  it('answers 500 {success: false, error: message} when the action throws', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Action({ params: [] })
      async boom(): Promise<never> {
        throw new Error('database is down')
      }
    }
    const r = await call(engine, '/m/boom', {})
    expect(r.status).toBe(500)
    expect(r.body).toEqual({ success: false, error: 'database is down' })
    expect(M).toBeDefined()
  })

  it('answers 500 in the same shape when a schema itself fails (an async refinement checked synchronously)', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Action({ params: [z.string().refine(async () => true)] })
      check(s: string) {
        return s
      }
    }
    const r = await call(engine, '/m/check', { '0': 'x' })
    expect(r.status).toBe(500)
    expect(r.body.success).toBe(false)
    expect(r.body.error).toMatch(/\S/)
    expect(M).toBeDefined()
  })

  it('passes the context first when the method declares one more parameter than params', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Action({ params: [z.string()] })
      who(ctx: ActionContext, name: string) {
        return { name, agent: ctx.req.header('x-agent'), signal: ctx.signal instanceof AbortSignal }
      }
    }
    const res: Response = await engine.request('/m/who?0=Ann', { headers: { 'x-agent': 'test' } })
    expect(ejson.parse(await res.text())).toEqual({ success: true, data: { name: 'Ann', agent: 'test', signal: true } })
    expect(M).toBeDefined()
  })
})

describe('ActionPlugin: options', () => {
  it("runs module actionMiddlewares, then the action's middlewares, then the method", async () => {
    const order: string[] = []
    const mw = (name: string) => async (_ctx: any, next: () => Promise<unknown>) => {
      order.push(`${name}>`)
      await next()
      order.push(`<${name}`)
    }
    const { Module, engine } = setup()
    @Module('m', { actionMiddlewares: [mw('module')] })
    class M {
      @Action({ params: [], middlewares: [mw('action')] })
      run() {
        order.push('method')
        return 1
      }
    }
    expect((await call(engine, '/m/run', {})).body).toEqual({ success: true, data: 1 })
    expect(order).toEqual(['module>', 'action>', 'method', '<action', '<module'])
    expect(M).toBeDefined()
  })

  it("gets the native route plugins' layers (a rate limit answers 429 in Rust before the action runs)", async () => {
    let calls = 0
    const { Module, engine } = setup(undefined, [new ActionPlugin(), new RateLimitPlugin({ maxRequests: 1, windowMs: 60_000 })])
    @Module('m')
    class M {
      @Action({ params: [] })
      hit() {
        calls++
        return calls
      }
    }
    const port = await engine.start()
    expect((await fetch(`http://127.0.0.1:${port}/m/hit`, { method: 'POST' })).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${port}/m/hit`, { method: 'POST' })).status).toBe(429)
    expect(calls).toBe(1)
    expect(M).toBeDefined()
  })

  it('refuses a module whose actionMiddlewares is not an array, as nebula does', async () => {
    const { Module, engine } = setup()
    @Module('m', { actionMiddlewares: 'nope' as any })
    class M {
      @Action({ params: [] })
      run() {}
    }
    await expect(engine.start()).rejects.toThrow(ModuleConfigValidationError)
    await expect(engine.start()).rejects.toThrow(/actionMiddlewares must be an array/)
    expect(M).toBeDefined()
  })

  it('refuses bad @Action options where they are written', () => {
    expect(() => Action({ params: 'x' } as any)).toThrow(/params must be an array of zod schemas/)
    expect(() => Action({ params: [{}] } as any)).toThrow(/params\[0\] is not a zod schema/)
    expect(() => Action({ params: [], stream: 'yes' } as any)).toThrow(/stream must be a boolean/)
  })

  it('keeps the options as nebula names them in the handler metadata (idempotence, params, description)', () => {
    const seen: any[] = []
    const spy = { name: 'spy', onHandlerLoad: (hs: any[]) => seen.push(...hs.filter((h) => h.type === 'action')) }
    const { Module, engine } = setup(undefined, [new ActionPlugin(), spy])
    const schema = z.string()
    @Module('m')
    class M {
      @Action({ description: 'reads', params: [schema], idempotence: true })
      read(id: string) {
        return id
      }
      @Handler({ type: 'other' })
      other() {}
    }
    engine.get(M)
    expect(seen).toHaveLength(1)
    expect(seen[0].methodName).toBe('read')
    expect(seen[0].options).toMatchObject({ description: 'reads', params: [schema], idempotence: true })
    expect(new ActionPlugin().priority).toBe(990)
    expect(new ActionPlugin().name).toBe('action-plugin')
  })

  it('engine.handler() calls the method with typed arguments, without HTTP and without validation', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Action({ params: [z.string(), z.number().optional()] })
      pair(a: string, b?: number) {
        return { a, b: b ?? -1 }
      }
    }
    const pair = engine.handler(M, 'pair')
    const out: { a: string; b: number } = await pair('x')
    expect(out).toEqual({ a: 'x', b: -1 })
    // @ts-expect-error: the first argument is a string
    await pair(1)
  })
})

describe('ActionPlugin: streams', () => {
  it("streams a generator's values as EJSON {value, done} frames, then {done: true}", async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Action({ params: [z.number()], stream: true })
      async *count(n: number) {
        for (let i = 0; i < n; i++) yield { i, at: new Date(i) }
      }
    }
    const port = await engine.start()
    const res = await fetch(`http://127.0.0.1:${port}/m/count`, { method: 'POST', body: ejson.stringify({ '0': 3 }) })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const text = await res.text()
    expect(text).toBe(
      '{"value":{"i":0,"at":{"$date":0}},"done":false}{"value":{"i":1,"at":{"$date":1}},"done":false}{"value":{"i":2,"at":{"$date":2}},"done":false}{"done":true}',
    )
    // The same in process (engine.request collects the body).
    const inProcess: Response = await engine.request('/m/count?0=1')
    expect(await inProcess.text()).toBe('{"value":{"i":0,"at":{"$date":0}},"done":false}{"done":true}')
    expect(M).toBeDefined()
  })

  it('ends the stream with {error, done: true} when the generator throws, and answers 500 when a stream action returns no iterable', async () => {
    const { Module, engine } = setup()
    @Module('m')
    class M {
      @Action({ params: [], stream: true })
      async *fails() {
        yield 1
        throw new Error('ran dry')
      }
      @Action({ params: [], stream: true })
      notStream() {
        return 5
      }
    }
    const res: Response = await engine.request('/m/fails', { method: 'POST' })
    expect(await res.text()).toBe('{"value":1,"done":false}{"error":"ran dry","done":true}')
    const r = await call(engine, '/m/notStream', {})
    expect(r.status).toBe(500)
    expect(r.body).toEqual({ success: false, error: 'Stream action must return AsyncIterable' })
    expect(M).toBeDefined()
  })

  it('sends each value as it is yielded, not at the end', async () => {
    const { Module, engine } = setup()
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    @Module('m')
    class M {
      @Action({ params: [], stream: true })
      async *slow() {
        yield 'first'
        await gate
        yield 'second'
      }
    }
    const port = await engine.start()
    const res = await fetch(`http://127.0.0.1:${port}/m/slow`, { method: 'POST' })
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toBe('{"value":"first","done":false}')
    release()
    let rest = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += new TextDecoder().decode(value)
    }
    expect(rest).toBe('{"value":"second","done":false}{"done":true}')
    expect(M).toBeDefined()
  })

  it('a client that disconnects ends the generator: its finally block runs and ctx.signal aborts', async () => {
    const { Module, engine } = setup()
    let signal: AbortSignal | undefined
    let finallyRan!: () => void
    const ended = new Promise<void>((r) => {
      finallyRan = r
    })
    let yielded = 0
    @Module('m')
    class M {
      @Action({ params: [], stream: true })
      async *ticks(ctx: ActionContext) {
        signal = ctx.signal
        try {
          for (;;) {
            yield yielded++
            // Waits on the signal, as a real source would (a timer, a subscription).
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, 20)
              ctx.signal.addEventListener('abort', () => {
                clearTimeout(t)
                resolve()
              })
            })
          }
        } finally {
          finallyRan()
        }
      }
    }
    const port = await engine.start()
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', path: '/m/ticks', method: 'POST' }, (res) => {
        res.once('data', () => {
          // The first frame arrived: the client goes away.
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => {})
      req.once('error', reject)
      req.end()
    })
    await ended
    expect(signal?.aborted).toBe(true)
    expect(yielded).toBeGreaterThan(0)
    expect(M).toBeDefined()
  })
})
