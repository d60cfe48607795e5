// Adversarial: hostile JWTs against JwtAuthPlugin (HTTP) and the hub's
// WebSocket handshake, both verified by the same Rust verifier. Every one is
// refused with 401 and a JSON body saying why, never echoing the token.
import { afterEach, describe, expect, it } from 'vitest'
import { Route, HubPlugin } from '../../index.js'
import { JwtAuthPlugin } from '../../lib/plugins/jwt-auth.js'
import { setup, listen, stopAll, RawClient, head, type Ctx } from '../helpers/http'
import { signJwt, keyPair, now } from '../helpers/jwt'

afterEach(stopAll)

const SECRET = 'an-adversarial-secret-of-32-bytes!!'
const ISSUER = 'https://auth.test'
const rsa = keyPair('rsa')
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'u1', iss: ISSUER, exp: now() + 60, ...extra })
const hs = (extra: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => signJwt(claims(extra), { key: SECRET, header })

type Verifier = 'HS256' | 'RS256'

/** An engine whose /me needs a token verified by JwtAuthPlugin. */
function httpApp(alg: Verifier = 'HS256') {
  const options = alg === 'HS256' ? { algorithm: 'HS256', secret: SECRET, issuer: ISSUER } : { algorithm: 'RS256', publicKey: rsa.publicKey, issuer: ISSUER }
  const { Module, engine } = setup({ plugins: [new JwtAuthPlugin(options as any)] })
  @Module('api')
  class Api {
    @Route({ path: '/me' })
    me(ctx: Ctx) {
      return { user: ctx.get('user') }
    }
  }
  void Api
  return engine
}

/** The plugin's answer to `token`: status and JSON body. */
async function viaPlugin(token: string, alg: Verifier = 'HS256') {
  const res = await httpApp(alg).request('/me', { headers: { authorization: `Bearer ${token}` } })
  const text = await res.text()
  expect(text).not.toContain(token)
  return { status: res.status, body: JSON.parse(text) }
}

/** The hub's answer to a WebSocket handshake carrying `token`: status and JSON body. */
async function viaHub(token: string) {
  const { engine } = setup({ plugins: [new HubPlugin({ auth: { secret: SECRET, issuer: ISSUER }, allowAnonymous: false })] })
  const { port } = await listen(engine)
  const client = await RawClient.connect(port)
  try {
    client.write(
      head('GET', '/ws', {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        authorization: `Bearer ${token}`,
      }),
    )
    const res = await client.read()
    expect(res.text).not.toContain(token)
    return { status: res.status, body: res.status === 101 ? null : JSON.parse(res.text) }
  } finally {
    client.destroy()
  }
}

const surfaces = [
  ['JwtAuthPlugin', viaPlugin],
  ['the hub', viaHub],
] as const

describe.each(surfaces)('control: %s', (_surface, via) => {
  it('accepts a well-formed token (so the refusals below are about the attack)', async () => {
    const r = await via(hs())
    expect([200, 101]).toContain(r.status)
  })
})

// The defects of issue 16: each was accepted before.
const fixed: [string, () => string, RegExp][] = [
  [
    'a crit header naming an extension we do not understand',
    () => hs({}, { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true }),
    /crit names extensions that are not supported/,
  ],
  ['a crit header naming b64 (RFC 7797 unencoded payload)', () => hs({}, { crit: ['b64'], b64: false }), /crit names extensions/],
  ['an empty crit header', () => hs({}, { crit: [] }), /crit is invalid/],
  ['a crit header that is not an array', () => hs({}, { crit: 'exp' }), /crit is invalid/],
  ['a crit header naming a registered header (alg)', () => hs({}, { crit: ['alg'] }), /crit is invalid/],
  ['an iss that is an array holding the configured issuer', () => hs({ iss: ['https://evil.test', ISSUER] }), /iss claim must be a string/],
  ['a sub that is not a string (an object)', () => hs({ sub: { id: 'admin' } }), /sub claim must be a string/],
  ['a sub that is not a string (a number)', () => hs({ sub: 1 }), /sub claim must be a string/],
  ['an aud that is a number where no audience is configured', () => hs({ aud: 42 }), /aud claim must be a string or an array of strings/],
  ['an aud array holding a non-string', () => hs({ aud: [null] }), /aud claim must be a string or an array of strings/],
]

describe.each(surfaces)('RFC 7515/7519 violations refused by %s', (_surface, via) => {
  it.each(fixed)('%s', async (_name, make, message) => {
    const r = await via(make())
    expect(r.status).toBe(401)
    expect(r.body).toMatchObject({ error: 'Unauthorized' })
    expect(r.body.message).toMatch(message)
  })
})

// Attacks that were already refused: kept as a standing guard.
// alg confusion: an RS256 verifier's public key used as an HS256 secret.
const confused = () => signJwt(claims(), { alg: 'HS256', key: rsa.publicKey })
const withSig = (token: string, sig: string) => token.split('.').slice(0, 2).concat(sig).join('.')
const attacks: [string, Verifier, () => string][] = [
  ['alg none', 'HS256', () => signJwt(claims(), { alg: 'none' })],
  ['alg None (case variant)', 'HS256', () => signJwt(claims(), { alg: 'none', header: { alg: 'None' } })],
  ['alg none with the original signature kept', 'HS256', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.${hs().split('.')[2]}`],
  ['alg confusion: HS256 signed with the RS256 public key', 'RS256', confused],
  ['another HMAC size (HS512)', 'HS256', () => signJwt(claims(), { alg: 'HS512', key: SECRET })],
  ['a bad signature', 'HS256', () => withSig(hs(), b64('x'.repeat(32)))],
  ['a stripped signature', 'HS256', () => withSig(hs(), '')],
  ['a payload swapped under a valid signature', 'HS256', () => `${hs().split('.')[0]}.${b64(claims({ sub: 'admin' }))}.${hs().split('.')[2]}`],
  ['expired', 'HS256', () => hs({ exp: now() - 3600 })],
  ['nbf in the future', 'HS256', () => hs({ nbf: now() + 3600 })],
  ['no exp', 'HS256', () => signJwt({ sub: 'u1', iss: ISSUER }, { key: SECRET })],
  ['malformed base64 in the header', 'HS256', () => `${hs().split('.')[0]}!!.${hs().split('.').slice(1).join('.')}`],
  ['a header that is not JSON', 'HS256', () => `${b64('{alg:HS256')}.${b64(claims())}.sig`],
  ['a payload that is not a JSON object', 'HS256', () => signJwt([1, 2, 3], { key: SECRET })],
  ['a huge token (over 8 KiB)', 'HS256', () => hs({ pad: 'x'.repeat(9000) })],
  ['a typ that is not a string', 'HS256', () => hs({}, { typ: 7 })],
  ['four parts', 'HS256', () => `${hs()}.extra`],
  [
    'an embedded jwk naming the attacker key (ignored: bad signature)',
    'RS256',
    () => {
      const attacker = keyPair('rsa')
      return signJwt(claims(), { alg: 'RS256', key: attacker.privateKey, header: { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } } })
    },
  ],
]

describe('hostile tokens already refused by JwtAuthPlugin', () => {
  it.each(attacks)('%s', async (_name, alg, make) => {
    const r = await viaPlugin(make(), alg)
    expect(r.status).toBe(401)
    expect(r.body).toMatchObject({ error: 'Unauthorized' })
    expect(typeof r.body.message).toBe('string')
  })
})
