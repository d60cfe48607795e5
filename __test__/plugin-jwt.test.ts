// JwtAuthPlugin: Bearer JWTs verified in Rust (HS256/RS256/ES256), 401/403
// answered without entering JS, claims as ctx.get('user'), public routes,
// permissions and roles (route and module), preflights, option validation.
import { afterEach, describe, expect, it } from 'vitest'
import { Route, PluginPriority, ModuleConfigValidationError } from '../index.js'
import { JwtAuthPlugin } from '../lib/plugins/jwt-auth.js'
import { CorsPlugin } from '../lib/plugins/cors.js'
import { setup, listen, stopAll, type Ctx } from './helpers/http'
import { signJwt, keyPair, now } from './helpers/jwt'

afterEach(stopAll)

const SECRET = 'a-test-secret-of-at-least-32-bytes!!'
const hs = (claims: Record<string, unknown>, key = SECRET) => signJwt({ exp: now() + 60, ...claims }, { key })
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

/** An engine with JwtAuthPlugin(options) and a module of routes. */
function app(
  options: Record<string, unknown> = { algorithm: 'HS256', secret: SECRET },
  { plugins = [] as unknown[], after = [] as unknown[], moduleOptions = {} as Record<string, unknown> } = {},
) {
  const { Module, engine } = setup({ plugins: [...plugins, new JwtAuthPlugin(options as any), ...after] })
  @Module('api', moduleOptions)
  class Api {
    @Route({ path: '/me' })
    me(ctx: Ctx) {
      return { user: ctx.get('user') }
    }

    @Route({ path: '/health-check', public: true })
    open(ctx: Ctx) {
      return { user: ctx.get('user') ?? null }
    }

    @Route({ method: 'POST', path: '/orders', permissions: ['orders:write', 'orders:read'] })
    order() {
      return { ordered: true }
    }

    @Route({ path: '/admin', roles: ['admin', 'ops'] })
    admin() {
      return 'admin'
    }

    @Route({ path: '/inherited' })
    inherited() {
      return 'inherited'
    }
  }
  return engine
}

async function refusal(res: Response) {
  return { status: res.status, body: await res.json(), challenge: res.headers.get('www-authenticate') }
}

describe('401 answered in Rust', () => {
  it('refuses a request without a token, with a bare Bearer challenge, without calling JS', async () => {
    const engine = app()
    const r = await refusal(await engine.request('/me'))
    expect(r).toEqual({
      status: 401,
      body: { error: 'Unauthorized', message: 'missing bearer token' },
      challenge: 'Bearer',
    })
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('refuses another scheme and an empty Bearer', async () => {
    const engine = app()
    const basic = await refusal(await engine.request('/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }))
    expect(basic).toMatchObject({ status: 401, challenge: 'Bearer' })
    expect(basic.body.message).toBe('authorization scheme must be Bearer')
    const empty = await refusal(await engine.request('/me', { headers: { authorization: 'Bearer ' } }))
    expect(empty.body.message).toBe('missing bearer token')
    expect(engine.stats().jsCalls).toBe(0)
  })

  it.each([
    ['expired', () => signJwt({ exp: now() - 120 }, { key: SECRET }), 'token expired'],
    ['not yet valid', () => hs({ nbf: now() + 120 }), 'token not yet valid (nbf)'],
    ['without exp', () => signJwt({ sub: 'u' }, { key: SECRET }), 'token has no exp claim'],
    ['signed with another secret', () => hs({}, 'another-secret-of-at-least-32-bytes!'), 'invalid token signature'],
    ['of another algorithm (HS512)', () => signJwt({ exp: now() + 60 }, { alg: 'HS512', key: SECRET }), 'token algorithm not accepted'],
    ['unsigned (alg none)', () => signJwt({ exp: now() + 60 }, { alg: 'none' }), 'token algorithm not accepted'],
    ['malformed', () => 'abc.def', 'malformed token'],
  ])('refuses a token %s with invalid_token and a message saying why', async (_name, make, message) => {
    const engine = app()
    const token = make()
    const res = await engine.request('/me', auth(token))
    const text = await res.text()
    expect(res.status).toBe(401)
    expect(JSON.parse(text)).toEqual({ error: 'Unauthorized', message })
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect(text).not.toContain(token)
    expect(engine.stats().jsCalls).toBe(0)
  })

  it('refuses a tampered payload (bad signature)', async () => {
    const engine = app()
    const [h, , s] = hs({ sub: 'user' }).split('.')
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', exp: now() + 60 })).toString('base64url')}.${s}`
    const r = await refusal(await engine.request('/me', auth(forged)))
    expect(r.body.message).toBe('invalid token signature')
  })

  it('checks iss and aud when configured', async () => {
    const engine = app({ algorithm: 'HS256', secret: SECRET, issuer: 'https://auth.test', audience: ['api', 'admin'] })
    const ok = await engine.request('/me', auth(hs({ iss: 'https://auth.test', aud: 'api' })))
    expect(ok.status).toBe(200)
    const cases: [Record<string, unknown>, string][] = [
      [{ iss: 'https://evil.test', aud: 'api' }, 'token issuer not accepted'],
      [{ iss: 'https://auth.test', aud: 'web' }, 'token audience not accepted'],
      [{ aud: 'api' }, 'token has no iss claim'],
      [{ iss: 'https://auth.test' }, 'token has no aud claim'],
    ]
    for (const [claims, message] of cases) {
      const r = await refusal(await engine.request('/me', auth(hs(claims))))
      expect(r).toMatchObject({ status: 401, body: { message }, challenge: 'Bearer error="invalid_token"' })
    }
    expect(engine.stats().jsCalls).toBe(1)
  })

  it('refuses a token with an aud claim when no audience is configured', async () => {
    const engine = app()
    const r = await refusal(await engine.request('/me', auth(hs({ aud: 'someone-else' }))))
    expect(r.body.message).toBe('token audience not accepted')
  })
})

describe('verified requests', () => {
  it('hands the claims to the handler as ctx.get("user")', async () => {
    const engine = app()
    const exp = now() + 60
    const res = await engine.request('/me', auth(signJwt({ sub: 'u1', name: 'Ada', exp }, { key: SECRET })))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ user: { sub: 'u1', name: 'Ada', exp } })
    expect(engine.stats().jsCalls).toBe(1)
  })

  it('accepts a token expired within the leeway (5 s by default), not with leeway 0', async () => {
    const token = signJwt({ exp: now() - 2 }, { key: SECRET })
    expect((await app().request('/me', auth(token))).status).toBe(200)
    const strict = app({ algorithm: 'HS256', secret: SECRET, leeway: 0 })
    expect((await strict.request('/me', auth(token))).status).toBe(401)
  })

  it('serves public routes without a token (and without claims)', async () => {
    const engine = app()
    const res = await engine.request('/health-check')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ user: null })
  })

  it('verifies RS256 and ES256 tokens with the public key, over a real socket', async () => {
    for (const [alg, kind] of [
      ['RS256', 'rsa'],
      ['ES256', 'ec'],
    ] as const) {
      const { publicKey, privateKey } = keyPair(kind)
      const other = keyPair(kind)
      const engine = app({ algorithm: alg, publicKey })
      const { base } = await listen(engine)
      const good = signJwt({ sub: alg, exp: now() + 60 }, { alg, key: privateKey })
      const res = await fetch(`${base}/me`, auth(good))
      expect(res.status).toBe(200)
      expect((await res.json()).user.sub).toBe(alg)
      const bad = signJwt({ sub: alg, exp: now() + 60 }, { alg, key: other.privateKey })
      const refused = await fetch(`${base}/me`, auth(bad))
      expect(refused.status).toBe(401)
      expect((await refused.json()).message).toBe('invalid token signature')
      // Key confusion: an HS256 token whose secret is the public key.
      const confused = signJwt({ exp: now() + 60 }, { key: publicKey })
      expect((await (await fetch(`${base}/me`, auth(confused))).json()).message).toBe('token algorithm not accepted')
      expect(engine.stats().jsCalls).toBe(1)
    }
  })
})

describe('permissions and roles', () => {
  it('requires every listed permission (403 naming the missing one)', async () => {
    const engine = app()
    const post = (claims: Record<string, unknown>) => engine.request('/orders', { method: 'POST', ...auth(hs(claims)) })
    const ok = await post({ permissions: ['orders:read', 'orders:write'] })
    expect(ok.status).toBe(200)
    const r = await refusal(await post({ permissions: ['orders:read'] }))
    expect(r).toEqual({
      status: 403,
      body: { error: 'Forbidden', message: 'missing permission orders:write' },
      challenge: 'Bearer error="insufficient_scope"',
    })
    expect(engine.stats().jsCalls).toBe(1)
  })

  it('requires any one of the listed roles', async () => {
    const engine = app()
    expect((await engine.request('/admin', auth(hs({ roles: ['ops'] })))).status).toBe(200)
    const r = await refusal(await engine.request('/admin', auth(hs({ roles: ['viewer'] }))))
    expect(r.status).toBe(403)
    expect(r.body.message).toBe('missing one of the roles admin, ops')
    expect(engine.stats().jsCalls).toBe(1)
  })

  it('reads permissions and roles from the configured claims (lists or space-separated strings)', async () => {
    const engine = app({ algorithm: 'HS256', secret: SECRET, claimsPermissions: 'scope', claimsRoles: 'groups' })
    const post = (claims: Record<string, unknown>) => engine.request('/orders', { method: 'POST', ...auth(hs(claims)) })
    expect((await post({ scope: 'orders:read orders:write' })).status).toBe(200)
    expect((await post({ permissions: ['orders:read', 'orders:write'] })).status).toBe(403)
    expect((await engine.request('/admin', auth(hs({ groups: ['admin'] })))).status).toBe(200)
  })

  it('applies module jwtPermissions/jwtRoles to routes that set none of their own', async () => {
    const engine = app(undefined, { moduleOptions: { jwtPermissions: ['api:use'], jwtRoles: ['member'] } })
    const member = hs({ permissions: ['api:use'], roles: ['member'] })
    expect((await engine.request('/inherited', auth(member))).status).toBe(200)
    const r = await refusal(await engine.request('/inherited', auth(hs({ roles: ['member'] }))))
    expect(r.body.message).toBe('missing permission api:use')
    expect((await refusal(await engine.request('/inherited', auth(hs({ permissions: ['api:use'] }))))).body.message).toBe('missing role member')
    // A route's own list replaces the module's; public routes stay public.
    const admin = hs({ roles: ['admin'] })
    expect((await engine.request('/admin', auth(hs({ roles: ['admin'], permissions: ['api:use'] })))).status).toBe(200)
    expect((await engine.request('/admin', auth(admin))).status).toBe(403) // module permission still required
    expect((await engine.request('/health-check')).status).toBe(200)
  })

  it('validates the module options', async () => {
    const engine = app(undefined, { moduleOptions: { jwtRoles: 'admin' } })
    await expect(engine.request('/me')).rejects.toThrow(ModuleConfigValidationError)
    await expect(engine.request('/me')).rejects.toThrow(/jwtRoles must be an array of non-empty strings/)
  })
})

describe('with other layers', () => {
  it('lets a CORS preflight through without a token', async () => {
    const engine = app(undefined, { after: [new CorsPlugin({ origins: ['https://app.test'] })] })
    const res = await engine.request('/me', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.test', 'access-control-request-method': 'GET' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.test')
    expect(engine.stats().jsCalls).toBe(0)
    // The actual request still needs one.
    expect((await engine.request('/me', { headers: { origin: 'https://app.test' } })).status).toBe(401)
  })

  it('gets CORS headers on its 401 when CORS is the outer layer', async () => {
    const engine = app(undefined, { plugins: [new CorsPlugin({ origins: ['https://app.test'] })] })
    const res = await engine.request('/me', { headers: { origin: 'https://app.test' } })
    expect(res.status).toBe(401)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.test')
  })

  it('still guards the route inside a TypeScript layer (run from the JS chain)', async () => {
    const seen: string[] = []
    const outer = {
      name: 'outer-ts',
      priority: PluginPriority.SYSTEM,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers) h.wrap(async (next: () => Promise<unknown>) => (seen.push(h.methodName), next()))
      },
    }
    const engine = app(undefined, { plugins: [outer] })
    const refused = await refusal(await engine.request('/me'))
    expect(refused).toMatchObject({ status: 401, body: { message: 'missing bearer token' }, challenge: 'Bearer' })
    const res = await engine.request('/me', auth(hs({ sub: 'via-js' })))
    expect((await res.json()).user.sub).toBe('via-js')
    expect(seen).toEqual(['me', 'me'])
  })
})

describe('options', () => {
  const rsa = keyPair('rsa')
  const ec = keyPair('ec')
  it.each([
    [undefined, /options must be an object/],
    [{}, /algorithm is required/],
    [{ algorithm: 'HS384', secret: SECRET }, /algorithm must be "HS256", "RS256" or "ES256"/],
    [{ algorithm: 'HS256' }, /HS256 needs secret/],
    [{ algorithm: 'HS256', secret: 'short' }, /secret must be at least 32 bytes/],
    [{ algorithm: 'HS256', secret: SECRET, publicKey: rsa.publicKey }, /publicKey is for RS256\/ES256/],
    [{ algorithm: 'HS256', secret: SECRET, audiance: 'api' }, /unknown option "audiance"/],
    [{ algorithm: 'HS256', secret: SECRET, leeway: 301 }, /leeway must be a whole number/],
    [{ algorithm: 'HS256', secret: SECRET, leeway: 1.5 }, /leeway/],
    [{ algorithm: 'HS256', secret: SECRET, audience: [] }, /audience must be/],
    [{ algorithm: 'HS256', secret: SECRET, issuer: 7 }, /issuer must be a non-empty string/],
    [{ algorithm: 'HS256', secret: SECRET, claimsRoles: '' }, /claimsRoles must be a non-empty string/],
    [{ algorithm: 'RS256' }, /RS256 needs publicKey/],
    [{ algorithm: 'RS256', publicKey: rsa.publicKey, secret: SECRET }, /secret is for HS256/],
    [{ algorithm: 'RS256', publicKey: rsa.privateKey }, /private key/],
    [{ algorithm: 'RS256', publicKey: 'not a pem' }, /not a valid PEM public key/],
    [{ algorithm: 'RS256', publicKey: ec.publicKey }, /not an RSA public key/],
    [{ algorithm: 'ES256', publicKey: rsa.publicKey }, /not an EC P-256 public key/],
  ])('throws a TypeError at construction for %j', (options, message) => {
    expect(() => new JwtAuthPlugin(options as any)).toThrow(TypeError)
    expect(() => new JwtAuthPlugin(options as any)).toThrow(message)
  })

  it('refuses a small RSA key', () => {
    const small = keyPair('rsa', 1024)
    expect(() => new JwtAuthPlugin({ algorithm: 'RS256', publicKey: small.publicKey })).toThrow(/at least 2048 bits/)
  })

  it('is named jwt-auth with SECURITY priority', () => {
    const p = new JwtAuthPlugin({ algorithm: 'HS256', secret: SECRET, audience: undefined })
    expect(p.name).toBe('jwt-auth')
    expect(p.priority).toBe(PluginPriority.SECURITY)
    expect(p.options).toEqual({ algorithm: 'HS256', secret: SECRET })
  })

  it('fails start() on invalid route options, naming the route', async () => {
    const { Module, engine } = setup({ plugins: [new JwtAuthPlugin({ algorithm: 'HS256', secret: SECRET })] })
    @Module('bad')
    class Bad {
      @Route({ path: '/x', public: true, roles: ['admin'] })
      x() {
        return 'x'
      }
    }
    void Bad
    await expect(engine.request('/x')).rejects.toThrow(
      /Plugin jwt-auth failed in onHandlerLoad: JwtAuthPlugin: a public route cannot require permissions or roles \(route x\)/,
    )
  })
})
