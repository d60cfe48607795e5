// engine.handler() as nebula-engine has it: the method is looked up when the handler is called.
import { describe, expect, it } from 'vitest'
import { Handler, Testing } from '../index.js'

describe('engine.handler(Class, name)', () => {
  it('a method the class lacks rejects the call ("Handler … not found"), it does not throw when asked for', async () => {
    const { Module, engine } = Testing.createTestEngine({ plugins: [] })
    @Module('m')
    class M {
      @Handler({ type: 'any' })
      existing() {
        return { ok: true }
      }
    }
    const missing = engine.handler(M, 'nonExistentMethod' as any)
    await expect(missing()).rejects.toThrow('Handler nonExistentMethod not found in module M')
    expect(await engine.handler(M, 'existing')()).toEqual({ ok: true })
  })

  it('a class that is no module of the engine rejects the call too', async () => {
    const { engine } = Testing.createTestEngine({ plugins: [] })
    class Stranger {
      hi() {
        return 'hi'
      }
    }
    const call = engine.handler(Stranger, 'hi')
    await expect(call()).rejects.toThrow('Stranger is not a module of this engine')
  })
})
