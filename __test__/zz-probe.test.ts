import { describe, it, expect } from 'vitest'
import { Testing, Route, RoutePlugin, Microservice } from '../index.js'
describe('probe', () => {
  it('works', async () => {
    const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin()] })
    @Module('a')
    class A {
      @Route({ path: '/x' })
      x() { return { ok: 1 } }
    }
    const res = await engine.request('/x')
    expect(await res.json()).toEqual({ ok: 1 })
    console.log(typeof Microservice, engine.handler(A, 'x'))
  })
})
