// Definitions JS shares with Rust are written once, in Rust, and read from the
// addon (src/binding/shared.rs): the plugin priorities and the layout of the
// packed request and answer batches. index.d.ts repeats the priorities as
// literal types, which must be the same numbers.
import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import * as nebula from '../index.js'
import { dtsConstLiterals, dtsInstanceLiteral } from './helpers/dts'

const require = createRequire(import.meta.url)
const binding = require('../lib/native.js')

describe('shared definitions', () => {
  it('PluginPriority is the one Rust defines, frozen, in the same order', () => {
    const fromRust = binding.sharedDefinitions().pluginPriority
    expect(Object.entries(nebula.PluginPriority)).toEqual(Object.entries(fromRust))
    expect(Object.keys(nebula.PluginPriority)).toEqual(['SYSTEM', 'SECURITY', 'LOGGING', 'BUSINESS', 'PERFORMANCE', 'ROUTE'])
    expect(Object.isFrozen(nebula.PluginPriority)).toBe(true)
  })

  it("index.d.ts declares PluginPriority's runtime values as its literal types", () => {
    expect(dtsConstLiterals('PluginPriority')).toEqual(Object.entries(nebula.PluginPriority))
  })

  it('a plugin class whose d.ts priority is a literal type has that priority at runtime', () => {
    const plugins: Record<string, () => { priority?: number }> = {
      RoutePlugin: () => new nebula.RoutePlugin(),
      CorsPlugin: () => new nebula.CorsPlugin(),
      CompressionPlugin: () => new nebula.CompressionPlugin(),
      JwtAuthPlugin: () => new nebula.JwtAuthPlugin({ algorithm: 'HS256', secret: 's'.repeat(32) }),
      CachePlugin: () => new nebula.CachePlugin(),
      GracefulShutdownPlugin: () => new nebula.GracefulShutdownPlugin(),
      SchedulePlugin: () => new nebula.SchedulePlugin(),
      ConcurrencyLockPlugin: () => new nebula.ConcurrencyLockPlugin(),
    }
    for (const [name, make] of Object.entries(plugins)) {
      const declared = dtsInstanceLiteral(name, 'priority')
      expect(typeof declared, `${name}'s priority in index.d.ts`).toBe('number')
      expect(make().priority, name).toBe(declared)
    }
  })

  it('the batch layouts Rust packs by are well formed: one bit per request flag, header kinds under their mask', () => {
    const { request, answer } = binding.sharedDefinitions()
    const flags = [request.body, request.locals, request.params, request.peerText, request.peerIpv4]
    for (const f of flags) expect(f & (f - 1), `request flag ${f}`).toBe(0)
    expect(new Set(flags).size).toBe(flags.length)
    expect(request.meta).toBeGreaterThanOrEqual(8)
    const kinds = [answer.headersListed, answer.headersJson, answer.headersNone, answer.headersText]
    expect(new Set(kinds).size).toBe(kinds.length)
    for (const k of kinds) expect(k & ~answer.headersMask).toBe(0)
    expect(answer.bodyExtra & answer.headersMask).toBe(0)
    expect(answer.meta).toBe(4)
  })
})
