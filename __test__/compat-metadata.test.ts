// nebula-engine's metadata getters: getHandlerMetadata / getAllHandlerMetadata.
import { describe, expect, it } from 'vitest'
import { Handler, Route, getAllHandlerMetadata, getHandlerMetadata } from '../index.js'

describe('getHandlerMetadata(target, methodName)', () => {
  it('returns every decorator of the method with its method, name and class', () => {
    class Users {
      @Route({ path: '/user' })
      @Handler({ type: 'cache', options: { ttl: 60 } })
      get() {
        return { id: 1 }
      }
      plain() {}
    }
    const meta = getHandlerMetadata(Users, 'get')
    expect(meta.map((m) => m.type).sort()).toEqual(['cache', 'route'])
    expect(meta.find((m) => m.type === 'cache')).toMatchObject({ options: { ttl: 60 }, methodName: 'get', module: Users })
    expect(meta.find((m) => m.type === 'route')?.options).toMatchObject({ path: '/user', method: 'GET' })
    expect(meta[0].method).toBe(Users.prototype.get)
    // a prototype or an instance names the same class
    expect(getHandlerMetadata(Users.prototype, 'get')).toEqual(meta)
    expect(getHandlerMetadata(new Users(), 'get')).toEqual(meta)
    expect(getHandlerMetadata(Users, 'plain')).toEqual([])
    expect(getHandlerMetadata(Users, 'missing')).toEqual([])
  })

  it('sees inherited decorated methods, a subclass override winning', () => {
    class Base {
      @Handler({ type: 'route', options: { path: '/a' } })
      a() {}
      @Handler({ type: 'route', options: { path: '/b' } })
      b() {}
    }
    class Child extends Base {
      @Handler({ type: 'route', options: { path: '/b2' } })
      b() {}
    }
    expect(getHandlerMetadata(Child, 'a')).toMatchObject([{ options: { path: '/a' }, module: Child }])
    expect(getHandlerMetadata(Child, 'b')).toMatchObject([{ options: { path: '/b2' } }])
  })

  it('refuses a target that is not a class or an object', () => {
    expect(() => getHandlerMetadata(undefined as any, 'x')).toThrow(/expected a class/)
    expect(() => getAllHandlerMetadata(42 as any)).toThrow(/expected a class/)
  })
})

describe('getAllHandlerMetadata(target)', () => {
  it('maps each decorated method (only those) to its metadata', () => {
    class Users {
      @Handler({ type: 'route' })
      getUser() {}
      @Handler({ type: 'route' })
      createUser() {}
      deleteUser() {}
    }
    const all = getAllHandlerMetadata(Users)
    expect([...all.keys()].sort()).toEqual(['createUser', 'getUser'])
    expect(all.get('getUser')).toEqual(getHandlerMetadata(Users, 'getUser'))
  })
})
