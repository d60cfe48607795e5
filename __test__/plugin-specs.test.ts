// The native plugins' option specs (lib/plugins/specs/) against the two
// sides that read the options: the JS classes and the Rust plugins. Every key
// of a spec has a valid case below (a new key needs one); each case is taken
// by the class and by Rust; Rust reads every key (a value of the wrong type is
// refused, naming the key), with the spec's bounds and enum values.
import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { keyPair } from './helpers/jwt'

const require = createRequire(import.meta.url)
const binding = require('../lib/native.js')
const { SPECS } = require('../lib/plugins/specs')
const SCHEMA = require('../schema/nebula.config.schema.json')
const { CorsPlugin } = require('../lib/plugins/cors.js')
const { CompressionPlugin } = require('../lib/plugins/compression.js')
const { RateLimitPlugin } = require('../lib/plugins/rate-limit.js')
const { JwtAuthPlugin } = require('../lib/plugins/jwt-auth.js')
const { LoggerPlugin } = require('../lib/plugins/logger.js')
const { MetricsPlugin } = require('../lib/plugins/metrics.js')
const { MemoryCacheAdapter, RedisCacheAdapter } = require('../lib/plugins/cache.js')
const { createPlugin } = require('../lib/config/plugins.js')

type Options = Record<string, unknown>
interface Side {
  /** Builds the class (throws a TypeError for invalid options). */
  make(options: Options): any
  /** What the class hands to Rust. */
  native?(made: any): Options
  /** Rust refuses keys it does not know (the others ignore them; JS or the config schema refuses them first). */
  rustRefusesUnknown?: boolean
  /** The class refuses keys it does not know. */
  jsRefusesUnknown: boolean
  /** Keys whose values only the config schema checks (JS takes any). */
  schemaOnly?: string[]
  /** key → options that are valid and use it (each enum value of the key among them). */
  cases: Record<string, Options[]>
}

const SECRET = 's'.repeat(32)
const RSA = keyPair('rsa').publicKey
const EC = keyPair('ec').publicKey
const REDIS = 'redis://127.0.0.1:6379'

const SIDES: Record<string, Side> = {
  CorsPlugin: {
    make: (o) => new CorsPlugin(o),
    rustRefusesUnknown: true,
    jsRefusesUnknown: true,
    cases: {
      origins: [{ origins: '*' }, { origins: ['https://app.example.com', 'https://*.example.org', 'null'] }],
      methods: [{ methods: ['GET', 'POST'] }],
      allowedHeaders: [{ allowedHeaders: ['x-a'] }],
      exposedHeaders: [{ exposedHeaders: ['x-b'] }],
      credentials: [{ credentials: true }],
      maxAge: [{ maxAge: 600 }],
    },
  },
  CompressionPlugin: {
    make: (o) => new CompressionPlugin(o),
    rustRefusesUnknown: true,
    jsRefusesUnknown: true,
    cases: {
      threshold: [{ threshold: 0 }],
      encodings: [{ encodings: ['gzip'] }, { encodings: ['br', 'gzip'] }],
      level: [{ level: 5 }],
    },
  },
  RateLimitPlugin: {
    make: (o) => new RateLimitPlugin(o),
    jsRefusesUnknown: true,
    cases: {
      maxRequests: [{ maxRequests: 10 }],
      windowMs: [{ windowMs: 1000 }],
      key: [{ key: 'ip' }, { key: { header: 'x-api-key' } }, { key: { claim: 'sub' } }],
      maxKeys: [{ maxKeys: 10 }],
    },
  },
  JwtAuthPlugin: {
    make: (o) => new JwtAuthPlugin(o),
    rustRefusesUnknown: true,
    jsRefusesUnknown: true,
    cases: {
      algorithm: [
        { algorithm: 'HS256', secret: SECRET },
        { algorithm: 'RS256', publicKey: RSA },
        { algorithm: 'ES256', publicKey: EC },
      ],
      secret: [{ algorithm: 'HS256', secret: SECRET }],
      publicKey: [{ algorithm: 'ES256', publicKey: EC }],
      issuer: [{ algorithm: 'HS256', secret: SECRET, issuer: 'https://issuer.example.com' }],
      audience: [
        { algorithm: 'HS256', secret: SECRET, audience: 'api' },
        { algorithm: 'HS256', secret: SECRET, audience: ['api', 'web'] },
      ],
      leeway: [{ algorithm: 'HS256', secret: SECRET, leeway: 10 }],
      claimsPermissions: [{ algorithm: 'HS256', secret: SECRET, claimsPermissions: 'perms' }],
      claimsRoles: [{ algorithm: 'HS256', secret: SECRET, claimsRoles: 'groups' }],
    },
  },
  LoggerPlugin: {
    make: (o) => new LoggerPlugin(o),
    jsRefusesUnknown: false,
    cases: {
      format: [{ format: 'json' }, { format: 'pretty' }],
      requestIdHeader: [{ requestIdHeader: 'x-trace-id' }],
      output: [{ output: 'stdout' }, { output: 'stderr' }],
    },
  },
  MetricsPlugin: {
    make: (o) => new MetricsPlugin(o),
    jsRefusesUnknown: false,
    cases: {
      path: [{ path: '/stats' }],
      prefix: [{ prefix: 'app_' }],
      buckets: [{ buckets: [0.1, 1, 10] }],
    },
  },
  // The config's `plugins.cache`: the plugin as nebula.config.json builds it.
  CachePlugin: {
    make: (o) => createPlugin('cache', o),
    jsRefusesUnknown: true,
    // Any store but "redis" is the memory store.
    schemaOnly: ['store'],
    cases: {
      store: [{ store: 'memory' }, { store: 'redis', url: REDIS }],
      maxEntries: [{ maxEntries: 5 }],
      maxBytes: [{ maxBytes: 1024 }],
      url: [{ store: 'redis', url: REDIS }],
      prefix: [{ store: 'redis', url: REDIS, prefix: 'p:' }],
      timeoutMs: [{ store: 'redis', url: REDIS, timeoutMs: 500 }],
    },
  },
  MemoryCacheAdapter: {
    make: (o) => new MemoryCacheAdapter(o),
    native: (a) => a._native(),
    jsRefusesUnknown: true,
    cases: { maxEntries: [{ maxEntries: 0 }], maxBytes: [{ maxBytes: 1 }] },
  },
  RedisCacheAdapter: {
    make: (o) => new RedisCacheAdapter(o),
    native: (a) => a._native(),
    jsRefusesUnknown: true,
    cases: {
      url: [{ url: 'redis+unix:///tmp/redis.sock' }],
      prefix: [{ url: REDIS, prefix: 'p:' }],
      keyPrefix: [{ url: REDIS, keyPrefix: 'p:' }],
      timeoutMs: [{ url: REDIS, timeoutMs: 1 }],
    },
  },
}

/** The kind a spec's options reach Rust as: the spec's own, or (adapters) the cache's. */
const kindOf = (spec: any) => spec.kind ?? 'cache'
const nativeOptions = (side: Side, made: any): Options => (side.native ? side.native(made) : made.options)

/** Creates native plugin `kind` in a fresh engine; the error message, or undefined when Rust took the options. */
function rustRefusal(kind: string, options: Options): string | undefined {
  const engine = new binding.NativeEngine({})
  try {
    engine.createPlugin(kind, options)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

/** A key's schema with `$ref`s resolved. */
function resolved(schema: any): any {
  let s = schema
  while (s.$ref) s = SCHEMA.$defs[s.$ref.replace('#/$defs/', '')]
  return s
}

function jsRefusal(make: () => unknown): string | undefined {
  try {
    make()
    return undefined
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError)
    return (err as Error).message
  }
}

describe('native plugin option specs', () => {
  it('cover every spec, and every spec has a case for each of its keys', () => {
    expect(SPECS.map((s: any) => s.name).sort()).toEqual(Object.keys(SIDES).sort())
    for (const spec of SPECS) expect(Object.keys(SIDES[spec.name].cases), spec.name).toEqual(Object.keys(spec.options))
  })

  for (const spec of SPECS) {
    const side = SIDES[spec.name]
    const kind = kindOf(spec)
    const keys = Object.keys(spec.options)
    // Keys the class hands to Rust under the same name (an adapter's keyPrefix becomes prefix).
    const rustKeys = (made: any) => Object.keys(nativeOptions(side, made))

    describe(spec.name, () => {
      it('every case is taken by the class, and what the class makes of it by Rust', () => {
        for (const key of keys) {
          for (const options of side.cases[key]) {
            const made = side.make(options)
            expect(rustRefusal(kind, nativeOptions(side, made)), `${key}: ${JSON.stringify(options)}`).toBeUndefined()
          }
        }
      })

      it('each enum value of a key has a case; a value outside the enum is refused by the class and by Rust', () => {
        for (const key of keys) {
          const s = resolved(spec.options[key].schema)
          const values = s.enum ?? s.items?.enum
          if (!values) continue
          const given = side.cases[key].flatMap((o) => (Array.isArray(o[key]) ? o[key] : [o[key]]))
          for (const v of values) expect(given, `${spec.name}.${key}`).toContain(v)
          const base = side.cases[key][0]
          const bad = s.enum ? 'not-one-of-them' : ['not-one-of-them']
          if (!side.schemaOnly?.includes(key))
            expect(
              jsRefusal(() => side.make({ ...base, [key]: bad })),
              `JS ${key}`,
            ).toBeDefined()
          const made = side.make(base)
          if (!rustKeys(made).includes(key)) continue
          expect(rustRefusal(kind, { ...nativeOptions(side, made), [key]: bad }), `Rust ${key}`).toBeDefined()
        }
      })

      it("integer keys: the schema's bounds are the class's and Rust's", () => {
        for (const key of keys) {
          const s = resolved(spec.options[key].schema)
          if (s.type !== 'integer') continue
          const base = side.cases[key][0]
          const made = side.make(base)
          const toRust = rustKeys(made).includes(key)
          const rust = (v: number) => (toRust ? rustRefusal(kind, { ...nativeOptions(side, made), [key]: v }) : undefined)
          for (const ok of [s.minimum, s.maximum].filter((v) => v !== undefined)) {
            expect(
              jsRefusal(() => side.make({ ...base, [key]: ok })),
              `JS ${key} = ${ok}`,
            ).toBeUndefined()
            expect(rust(ok), `Rust ${key} = ${ok}`).toBeUndefined()
          }
          const outside = [s.minimum !== undefined ? s.minimum - 1 : undefined, s.maximum !== undefined ? s.maximum + 1 : undefined]
          for (const bad of outside.filter((v) => v !== undefined)) {
            expect(
              jsRefusal(() => side.make({ ...base, [key]: bad })),
              `JS ${key} = ${bad}`,
            ).toBeDefined()
            if (toRust) expect(rust(bad), `Rust ${key} = ${bad}`).toMatch(key)
          }
        }
      })

      it('Rust reads every key: a value of the wrong type is refused, naming the key', () => {
        for (const key of keys) {
          const base = side.cases[key][0]
          const made = side.make(base)
          if (!rustKeys(made).includes(key)) {
            // Only an adapter's alias may stop in JS (keyPrefix is handed over as prefix).
            expect(`${spec.name}.${key}`).toBe('RedisCacheAdapter.keyPrefix')
            continue
          }
          const s = resolved(spec.options[key].schema)
          const takesObjects = (s.anyOf ?? [s]).some((b: any) => resolved(b).type === 'object')
          const wrong = takesObjects ? 42 : { wrong: true }
          expect(rustRefusal(kind, { ...nativeOptions(side, made), [key]: wrong }), `${spec.name}.${key}`).toMatch(key)
        }
      })

      it('a key outside the spec is refused where the plugin checks keys', () => {
        const base = Object.values(side.cases)[0][0]
        const js = jsRefusal(() => side.make({ ...base, notAnOption: 1 }))
        if (side.jsRefusesUnknown) expect(js).toContain('unknown option "notAnOption"')
        else expect(js).toBeUndefined()
        if (side.rustRefusesUnknown) {
          expect(rustRefusal(kind, { ...nativeOptions(side, side.make(base)), notAnOption: 1 })).toContain('unknown option "notAnOption"')
        }
      })
    })
  }
})
