// RoutePlugin behaviours nebula-engine's own route tests check: escaped HTML (hono's html``
// and hono/jsx) answered as text/html, a failing errorTransformer, module-option messages.
import { html } from 'hono/html'
import { jsx } from 'hono/jsx'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ModuleConfigValidationError, Route, RoutePlugin, Testing } from '../index.js'

afterEach(() => {
  vi.restoreAllMocks()
})

function setup(options?: ConstructorParameters<typeof RoutePlugin>[0]) {
  return Testing.createTestEngine({ plugins: [new RoutePlugin(options)] })
}

describe('escaped HTML results', () => {
  it("hono's html`` is answered as text/html, escaped as hono escapes it", async () => {
    const { Module, engine } = setup()
    @Module('pages')
    class Pages {
      @Route({ path: '/hello' })
      hello(ctx: any) {
        return html`<p>Hello ${ctx.req.query('name')}</p>`
      }
    }
    const res = await engine.request('/hello?name=<b>you</b>')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await res.text()).toBe('<p>Hello &lt;b&gt;you&lt;/b&gt;</p>')
  })

  it('a hono/jsx node is rendered, async components included', async () => {
    const { Module, engine } = setup()
    const Name = async ({ who }: { who: string }) => jsx('b', null, who)
    @Module('pages')
    class Pages {
      @Route({ path: '/jsx' })
      page() {
        return jsx('div', { class: 'x' }, 'Hello JSX')
      }
      @Route({ path: '/async' })
      async asyncPage() {
        return jsx('p', null, 'Hi ', jsx(Name as any, { who: 'Ada' }))
      }
    }
    const a = await engine.request('/jsx')
    expect(a.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await a.text()).toBe('<div class="x">Hello JSX</div>')
    const b = await engine.request('/async')
    expect(b.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await b.text()).toBe('<p>Hi <b>Ada</b></p>')
  })

  it('keeps the status and a content-type the handler set', async () => {
    const { Module, engine } = setup()
    @Module('pages')
    class Pages {
      @Route({ path: '/created' })
      created(ctx: any) {
        ctx.status(201)
        ctx.header('Content-Type', 'application/xhtml+xml')
        return html`<p/>`
      }
    }
    const res = await engine.request('/created')
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toBe('application/xhtml+xml')
    expect(await res.text()).toBe('<p/>')
  })

  it('an object with a `type` field, or a fake mark, stays JSON', async () => {
    const { Module, engine } = setup()
    @Module('data')
    class Data {
      @Route({ path: '/typed' })
      typed() {
        return { type: 'user', name: 'Ada' }
      }
      @Route({ path: '/marked' })
      marked() {
        return { isEscaped: 'yes', tag: 'div' }
      }
    }
    const a = await engine.request('/typed')
    expect(a.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(await a.json()).toEqual({ type: 'user', name: 'Ada' })
    const b = await engine.request('/marked')
    expect(await b.json()).toEqual({ isEscaped: 'yes', tag: 'div' })
  })

  it('a component that throws while rendering gives the default 500', async () => {
    const { Module, engine } = setup()
    const Broken = async () => {
      throw new Error('render failed')
    }
    @Module('pages')
    class Pages {
      @Route({ path: '/broken' })
      broken() {
        return jsx('div', null, jsx(Broken as any, {}))
      }
    }
    const res = await engine.request('/broken')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: 'Internal server error', message: 'render failed' })
  })
})

describe('ctx.html(value) with hono values', () => {
  it('renders html``, JSX (async components too) and promises of them, with the status and headers given', async () => {
    const { Module, engine } = setup()
    const Name = async () => jsx('b', null, 'Ada')
    @Module('pages')
    class Pages {
      @Route({ path: '/tagged' })
      tagged(ctx: any) {
        return ctx.html(html`<i>${'<x>'}</i>`, 201, { 'X-Page': 'tagged' })
      }
      @Route({ path: '/async-jsx' })
      asyncJsx(ctx: any) {
        return ctx.html(jsx('p', null, jsx(Name as any, {})))
      }
      @Route({ path: '/promise' })
      promised(ctx: any) {
        return ctx.html(Promise.resolve('<hr>'))
      }
    }
    const a = await engine.request('/tagged')
    expect([a.status, a.headers.get('x-page'), a.headers.get('content-type')]).toEqual([201, 'tagged', 'text/html; charset=utf-8'])
    expect(await a.text()).toBe('<i>&lt;x&gt;</i>')
    const b = await engine.request('/async-jsx')
    expect(b.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await b.text()).toBe('<p><b>Ada</b></p>')
    expect(await (await engine.request('/promise')).text()).toBe('<hr>')
  })
})

describe('an errorTransformer that throws', () => {
  for (const [kind, transformer] of [
    [
      'synchronously',
      () => {
        throw new Error('Transformer failed')
      },
    ],
    ['with a rejected promise', async () => Promise.reject(new Error('Transformer failed'))],
  ] as const) {
    it(`(${kind}) falls back to the default reply for the handler's own error, and is logged`, async () => {
      const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
      const { Module, engine } = setup({ errorTransformer: transformer })
      @Module('m')
      class M {
        @Route({ path: '/error' })
        fail() {
          throw new Error('Original error')
        }
      }
      const res = await engine.request('/error')
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({ error: 'Internal server error', message: 'Original error' })
      expect(logged).toHaveBeenCalledWith(
        '[nebula] RoutePlugin errorTransformer failed for M.fail:',
        expect.objectContaining({ message: 'Transformer failed' }),
      )
    })
  }

  it("keeps the handler's own error status", async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const { Module, engine } = setup({
      errorTransformer: () => {
        throw new Error('Transformer failed')
      },
    })
    @Module('m')
    class M {
      @Route({ path: '/missing' })
      missing() {
        throw Object.assign(new Error('no such thing'), { status: 404 })
      }
    }
    const res = await engine.request('/missing')
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'Not Found', message: 'no such thing' })
  })
})

describe("RoutePlugin's module options", () => {
  const validate = new RoutePlugin().getModuleOptionsSchema().validate!

  it("answers with nebula-engine's messages", () => {
    expect(validate({ routePrefix: '/api' })).toBe(true)
    expect(validate({})).toBe(true)
    expect(validate({ routePrefix: '' })).toBe(true)
    expect(validate({ routePrefix: 'api' })).toBe("routePrefix must start with '/'")
    expect(validate({ routePrefix: 42 as any })).toBe('routePrefix must be a string')
    expect(validate({ routeMiddlewares: 'auth' as any })).toBe('routeMiddlewares must be an array')
    expect(validate({ routeMiddlewares: ['auth'] as any })).toBe('routeMiddlewares must be an array of functions')
  })

  it('a routePrefix without its leading slash stops the engine from loading', async () => {
    const { Module, engine } = setup()
    @Module('m', { routePrefix: 'api' })
    class M {
      @Route({ path: '/x' })
      x() {
        return 'x'
      }
    }
    const failure = await engine.request('/api/x').then(
      () => undefined,
      (e) => e,
    )
    expect(failure).toBeInstanceOf(ModuleConfigValidationError)
    expect(failure.message).toBe("Module m has invalid options for plugin route-plugin: routePrefix must start with '/'")
  })
})
