// koa-compose-style invariants of the wrap chain (the onion).
// Every engine is a Testing engine, so its modules are isolated from other tests.
import { describe, it, expect } from 'vitest'
import { Testing, Handler, PluginPriority } from '../index.js'

type Wrapper = (next: () => Promise<any>, instance: any, ...args: any[]) => any

/** A plugin whose onHandlerLoad wraps every handler with `wrappers` (in that call order). */
function wrapping(name: string, priority: number | undefined, ...wrappers: Wrapper[]) {
  const plugin: any = {
    name,
    onHandlerLoad(handlers: any[]) {
      for (const h of handlers) for (const w of wrappers) h.wrap(w)
    },
  }
  if (priority !== undefined) plugin.priority = priority
  return plugin
}

/** A plugin that logs `<name>:before` / `<name>:after` around next(). */
function logging(log: string[], name: string, priority?: number) {
  return wrapping(name, priority, async (next) => {
    log.push(`${name}:before`)
    const out = await next()
    log.push(`${name}:after`)
    return out
  })
}

/** A Testing engine with one module `Svc` whose handler `m(a, b)` logs and returns `body(a, b)`. */
function setup(plugins: any[], body: (a?: any, b?: any) => any = () => 'result', log: string[] = []) {
  const { Module, engine } = Testing.createTestEngine({ plugins })
  @Module('svc')
  class Svc {
    calls: any[][] = []
    @Handler({ type: 'custom' })
    m(a?: any, b?: any) {
      this.calls.push([a, b])
      log.push('handler')
      return body(a, b)
    }
  }
  const call = (...args: any[]) => engine.handler(Svc, 'm')(...args)
  return { engine, Svc, call, log }
}

describe('onion order', () => {
  it('runs code before next() outside-in and code after next() inside-out', async () => {
    const log: string[] = []
    const { call } = setup([logging(log, 'a', 100), logging(log, 'b', 200)], () => 'r', log)
    await expect(call()).resolves.toBe('r')
    expect(log).toEqual(['a:before', 'b:before', 'handler', 'b:after', 'a:after'])
  })

  it('makes the lowest priority number the outermost layer, whatever the registration order', async () => {
    const log: string[] = []
    const { call } = setup([logging(log, 'perf', 400), logging(log, 'sys', 50), logging(log, 'log', 200)], undefined, log)
    await call()
    expect(log).toEqual(['sys:before', 'log:before', 'perf:before', 'handler', 'perf:after', 'log:after', 'sys:after'])
  })

  it('keeps registration order between plugins of equal priority', async () => {
    const log: string[] = []
    const { call } = setup([logging(log, 'z', 100), logging(log, 'x', 100), logging(log, 'y', 100)], undefined, log)
    await call()
    expect(log).toEqual(['z:before', 'x:before', 'y:before', 'handler', 'y:after', 'x:after', 'z:after'])
  })

  it('gives the same chain for every registration order of plugins with distinct priorities', async () => {
    const specs: [string, number][] = [
      ['a', 300],
      ['b', 50],
      ['c', 1],
      ['d', 999],
    ]
    const runs: string[][] = []
    for (const order of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [1, 3, 0, 2],
    ]) {
      const log: string[] = []
      const { call } = setup(
        order.map((i) => logging(log, specs[i][0], specs[i][1])),
        undefined,
        log,
      )
      await call()
      runs.push(log)
    }
    expect(runs[0]).toEqual(['c:before', 'b:before', 'a:before', 'd:before', 'handler', 'd:after', 'a:after', 'b:after', 'c:after'])
    expect(runs[1]).toEqual(runs[0])
    expect(runs[2]).toEqual(runs[0])
  })

  it('treats a plugin without priority as BUSINESS (300)', async () => {
    const log: string[] = []
    const { call } = setup(
      [logging(log, 'perf', PluginPriority.PERFORMANCE), logging(log, 'none'), logging(log, 'logging', PluginPriority.LOGGING)],
      undefined,
      log,
    )
    await call()
    expect(log.slice(0, 3)).toEqual(['logging:before', 'none:before', 'perf:before'])
  })

  it("keeps the call order of one plugin's several wraps (first wrap is outer)", async () => {
    const log: string[] = []
    const tag =
      (t: string): Wrapper =>
      async (next) => {
        log.push(`${t}:before`)
        const out = await next()
        log.push(`${t}:after`)
        return out
      }
    const { call } = setup([wrapping('late', 200, tag('late')), wrapping('multi', 100, tag('m1'), tag('m2'), tag('m3'))], undefined, log)
    await call()
    expect(log).toEqual(['m1:before', 'm2:before', 'm3:before', 'late:before', 'handler', 'late:after', 'm3:after', 'm2:after', 'm1:after'])
  })
})

describe('next()', () => {
  it('ignores arguments: the handler still receives the original call arguments', async () => {
    const { call, engine, Svc } = setup([wrapping('meddler', 100, (next) => (next as any)('evil', 666))], (a, b) => [a, b])
    await expect(call('a', 2)).resolves.toEqual(['a', 2])
    expect(engine.get(Svc).calls).toEqual([['a', 2]])
  })

  it('returns a promise even when the inner handler is synchronous', async () => {
    let inner: unknown
    const { call } = setup([wrapping('p', 100, (next) => (inner = next()))], () => 42)
    await expect(call()).resolves.toBe(42)
    expect(inner).toBeInstanceOf(Promise)
  })

  it('rejects with "next() called multiple times" when a layer calls it twice, and runs the handler once', async () => {
    const { call, engine, Svc } = setup([
      wrapping('twice', 100, async (next) => {
        await next()
        return next()
      }),
    ])
    await expect(call()).rejects.toThrow('next() called multiple times')
    expect(engine.get(Svc).calls).toHaveLength(1)
  })

  it('rejects a second next() in an inner layer too, and the outer layer sees that rejection', async () => {
    let seen: unknown
    const outer: Wrapper = async (next) => {
      try {
        return await next()
      } catch (err) {
        seen = err
        throw err
      }
    }
    const inner: Wrapper = async (next) => {
      await next()
      await next()
    }
    const { call } = setup([wrapping('outer', 100, outer), wrapping('inner', 200, inner)])
    await expect(call()).rejects.toThrow('next() called multiple times')
    expect((seen as Error).message).toMatch('next() called multiple times')
  })

  it('keeps the guard per call: concurrent calls of one handler each get their own next()', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const { call } = setup(
      [
        wrapping('gate', 100, async (next) => {
          await gate
          return next()
        }),
      ],
      (a) => a * 2,
    )
    const all = Promise.all([call(1), call(2), call(3)])
    release()
    await expect(all).resolves.toEqual([2, 4, 6])
  })
})

describe('short-circuit, results and errors', () => {
  it("returns a layer's own value without calling next(): inner layers and the handler never run", async () => {
    const log: string[] = []
    const { call, engine, Svc } = setup([wrapping('cache', 100, () => 'cached'), logging(log, 'inner', 200)], () => 'fresh', log)
    await expect(call()).resolves.toBe('cached')
    expect(log).toEqual([])
    expect(engine.get(Svc).calls).toEqual([])
  })

  it('lets every layer transform the result on the way out (inner first)', async () => {
    const { call } = setup([wrapping('plus', 100, async (next) => (await next()) + 1), wrapping('times', 200, async (next) => (await next()) * 10)], () => 4)
    await expect(call()).resolves.toBe(41)
  })

  it('lets a layer catch an inner error and answer instead', async () => {
    const { call } = setup(
      [
        wrapping('guard', 100, async (next) => {
          try {
            return await next()
          } catch (err) {
            return `recovered from ${(err as Error).message}`
          }
        }),
      ],
      () => {
        throw new Error('boom')
      },
    )
    await expect(call()).resolves.toBe('recovered from boom')
  })

  it('propagates a handler error outward through every layer as a rejection', async () => {
    const seen: string[] = []
    const watch =
      (name: string): Wrapper =>
      async (next) => {
        try {
          return await next()
        } catch (err) {
          seen.push(`${name}:${(err as Error).message}`)
          throw err
        }
      }
    const { call } = setup([wrapping('outer', 100, watch('outer')), wrapping('inner', 200, watch('inner'))], () => {
      throw new Error('kaput')
    })
    await expect(call()).rejects.toThrow('kaput')
    expect(seen).toEqual(['inner:kaput', 'outer:kaput'])
  })

  it('turns a synchronous throw in a wrapper into a rejection, not a synchronous exception', async () => {
    const { call } = setup([
      wrapping('sync', 100, () => {
        throw new Error('sync throw')
      }),
    ])
    let result: unknown
    expect(() => {
      result = call()
    }).not.toThrow()
    expect(result).toBeInstanceOf(Promise)
    await expect(result).rejects.toThrow('sync throw')
  })

  it('turns a synchronous throw in the handler into a rejection the outer layer can catch', async () => {
    const { call } = setup([wrapping('catcher', 100, (next) => next().catch((e: Error) => `caught ${e.message}`))], () => {
      throw new Error('handler sync')
    })
    await expect(call()).resolves.toBe('caught handler sync')
  })

  it('always returns a promise from a wrapped handler, even with no wrappers and a sync handler', async () => {
    const { call } = setup([], () => 7)
    const out = call()
    expect(out).toBeInstanceOf(Promise)
    await expect(out).resolves.toBe(7)
  })
})

describe('wrapper arguments and wrap()', () => {
  it("calls a wrapper with (next, the engine's instance, ...call args)", async () => {
    const seen: any[] = []
    const { call, engine, Svc } = setup(
      [
        wrapping('spy', 100, (next, instance, ...args) => {
          seen.push(typeof next, instance, args)
          return next()
        }),
      ],
      (a, b) => `${a}-${b}`,
    )
    await expect(call('a', 2)).resolves.toBe('a-2')
    expect(seen[0]).toBe('function')
    expect(seen[1]).toBe(engine.get(Svc))
    expect(seen[1]).toBeInstanceOf(Svc)
    expect(seen[2]).toEqual(['a', 2])
  })

  it('calls the handler with the engine instance as `this`', async () => {
    const { call, engine, Svc } = setup([wrapping('noop', 100, (next) => next())], () => 'ok')
    await call('x')
    expect(engine.get(Svc).calls).toEqual([['x', undefined]])
  })

  it('runs the whole chain again on every call (nothing is memoized)', async () => {
    const log: string[] = []
    const { call } = setup([logging(log, 'a', 100)], undefined, log)
    await call()
    await call()
    expect(log).toEqual(['a:before', 'handler', 'a:after', 'a:before', 'handler', 'a:after'])
  })

  it('throws a TypeError when wrap() is given something other than a function', () => {
    const errors: unknown[] = []
    const plugin = {
      name: 'bad-wrap',
      onHandlerLoad(handlers: any[]) {
        for (const bad of [undefined, 42, 'next', {}]) {
          try {
            handlers[0].wrap(bad)
          } catch (err) {
            errors.push(err)
          }
        }
      },
    }
    const { engine, Svc } = setup([plugin])
    engine.get(Svc)
    expect(errors).toHaveLength(4)
    for (const e of errors) expect(e).toBeInstanceOf(TypeError)
  })
})
