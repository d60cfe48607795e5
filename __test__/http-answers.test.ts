import { afterEach, describe, expect, it } from 'vitest'
import { Route, HttpResponse } from '../index.js'
import { setup, listen, stopAll, type Ctx } from './helpers/http'

afterEach(stopAll)

// Answers ready at once travel back to Rust together (lib/answers.js ↔
// src/binding/answers.rs): string bodies are cut from one string, so each
// must get exactly its own bytes, whatever its neighbours hold.
describe('answers crossing back in one batch', () => {
  it('each request gets its own status, headers and body: JSON, text, bytes, empty, non-ASCII, lone surrogates', async () => {
    const { Module, engine } = setup()
    @Module('mix')
    class Mix {
      @Route({ path: '/a/:kind/:i' })
      a(ctx: Ctx) {
        const i = Number(ctx.req.param('i'))
        switch (ctx.req.param('kind')) {
          case 'json':
            return { i, s: `é😀${i}` }
          case 'text':
            return `texte ${i} ✓`
          case 'bytes':
            return Buffer.from([i, 0, 255])
          case 'empty':
            return undefined
          case 'high': // a lone high surrogate at the end…
            return `h${i}\uD83D`
          case 'low': // …and a lone low one at the start of the next body: never one character
            return `\uDE00l${i}`
          case 'headers':
            ctx.header('x-i', String(i))
            ctx.status(201)
            return { i }
          default:
            return new HttpResponse(`r${i}`, 202, { 'x-r': `v${i}`, 'content-type': 'text/x-r' })
        }
      }
    }
    void Mix
    const { base } = await listen(engine)
    const kinds = ['json', 'text', 'bytes', 'empty', 'high', 'low', 'headers', 'response']
    const got = await Promise.all(
      Array.from({ length: 80 }, async (_, i) => {
        const kind = kinds[i % kinds.length]
        const res = await fetch(`${base}/a/${kind}/${i}`)
        const bytes = Buffer.from(await res.arrayBuffer())
        return { i, kind, res, bytes }
      }),
    )
    const REPLACEMENT = '\uFFFD'
    for (const { i, kind, res, bytes } of got) {
      const text = bytes.toString('utf8')
      switch (kind) {
        case 'json':
          expect([res.status, res.headers.get('content-type'), JSON.parse(text)]).toEqual([200, 'application/json; charset=utf-8', { i, s: `é😀${i}` }])
          break
        case 'text':
          expect([res.status, res.headers.get('content-type'), text]).toEqual([200, 'text/plain; charset=utf-8', `texte ${i} ✓`])
          break
        case 'bytes':
          expect([res.status, res.headers.get('content-type'), [...bytes]]).toEqual([200, 'application/octet-stream', [i, 0, 255]])
          break
        case 'empty':
          expect([res.status, res.headers.get('content-type'), bytes.length]).toEqual([204, null, 0])
          break
        case 'high':
          expect(text).toBe(`h${i}${REPLACEMENT}`)
          break
        case 'low':
          expect(text).toBe(`${REPLACEMENT}l${i}`)
          break
        case 'headers':
          expect([res.status, res.headers.get('x-i'), JSON.parse(text)]).toEqual([201, String(i), { i }])
          break
        default:
          expect([res.status, res.headers.get('x-r'), res.headers.get('content-type'), text]).toEqual([202, `v${i}`, 'text/x-r', `r${i}`])
      }
    }
  })

  it('async answers resolved together are all delivered, each to its own request', async () => {
    const { Module, engine } = setup()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let waiting = 0
    @Module('late')
    class Late {
      @Route({ path: '/late/:i' })
      async late(ctx: Ctx) {
        waiting++
        if (waiting === 30) release()
        await gate
        return `late ${ctx.req.param('i')} ✓`
      }
    }
    void Late
    const { base } = await listen(engine)
    const bodies = await Promise.all(Array.from({ length: 30 }, (_, i) => fetch(`${base}/late/${i}`).then((r) => r.text())))
    expect(bodies).toEqual(Array.from({ length: 30 }, (_, i) => `late ${i} ✓`))
  })

  it('a response body that cannot be sent → 500 JSON saying why; the other answers are unaffected', async () => {
    const { Module, engine } = setup()
    @Module('odd')
    class Odd {
      @Route({ path: '/odd/:i' })
      odd(ctx: Ctx) {
        const i = Number(ctx.req.param('i'))
        // A symbol is neither text, bytes nor JSON.
        if (i % 4 === 1) return new HttpResponse(Symbol('nope') as unknown as string, 200)
        return { i }
      }
    }
    void Odd
    const { base } = await listen(engine)
    const got = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await fetch(`${base}/odd/${i}`)
        return { i, status: res.status, body: await res.json() }
      }),
    )
    for (const { i, status, body } of got) {
      if (i % 4 === 1) {
        expect(status).toBe(500)
        expect(body.error).toBe('Internal server error')
        expect(body.message).toMatch(/body of type symbol cannot be sent as JSON/)
      } else {
        expect([status, body]).toEqual([200, { i }])
      }
    }
  })
})

describe('the client address', () => {
  it('is the IPv6 address for a client over IPv6', async (t) => {
    const { Module, engine } = setup({ options: { hostname: '::1' } })
    @Module('ip')
    class Ip {
      @Route({ path: '/ip' })
      ip(ctx: Ctx) {
        return { ip: ctx.req.ip }
      }
    }
    void Ip
    let port: number
    try {
      port = await engine.start(0)
    } catch (err) {
      console.warn(`[http-answers] skipping the IPv6 test: cannot listen on ::1 (${(err as Error).message})`)
      t.skip()
      return
    }
    const res = await fetch(`http://[::1]:${port}/ip`)
    expect(await res.json()).toEqual({ ip: '::1' })
  })
})
