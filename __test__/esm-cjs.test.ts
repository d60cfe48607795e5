// The package from plain Node: CommonJS `require` and ESM `import`, in child processes
// (so vitest's own module loader is out of the picture). Paths come from this file's location.
import { describe, it, expect } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const cjsEntry = join(root, 'index.js')
const esmEntry = pathToFileURL(join(root, 'index.mjs')).href

const EXPECTED_NAMES = [
  'Action',
  'ActionPlugin',
  'Cache',
  'CachePlugin',
  'ClientCodePlugin',
  'CompressionPlugin',
  'ConcurrencyLock',
  'ConcurrencyLockError',
  'ConcurrencyLockPlugin',
  'Config',
  'ConfigError',
  'Context',
  'CorsPlugin',
  'DuplicateModuleError',
  'DynamicConfigPlugin',
  'Factory',
  'GracefulShutdownPlugin',
  'Handler',
  'HttpError',
  'HttpRequest',
  'HttpResponse',
  'HubError',
  'HubPlugin',
  'JsvmPlugin',
  'JwtAuthPlugin',
  'LoggerPlugin',
  'MemoryCacheAdapter',
  'MemoryLockAdapter',
  'MetricsPlugin',
  'Microservice',
  'Module',
  'ModuleConfigValidationError',
  'OpenApiPlugin',
  'Page',
  'PluginNameRequiredError',
  'PluginPriority',
  'RateLimitPlugin',
  'RedisCacheAdapter',
  'Route',
  'RoutePlugin',
  'Schedule',
  'ScheduleMode',
  'SchedulePlugin',
  'ServicesPlugin',
  'Testing',
  'WsHandler',
  'buildEngine',
  'coerceBody',
  'convertHandlersToModuleInfo',
  'convertHandlersToModuleInfoWithMetadata',
  'generateClientCode',
  'getAllHandlerMetadata',
  'getHandlerMetadata',
  'getZodTypeString',
  'loadConfig',
  'parseConfig',
  'routeSchemas',
  'startFromConfig',
]

/** Runs `code` in a fresh `node` (cwd = package root) and parses the JSON it prints last. */
function run(code: string, type: 'commonjs' | 'module'): Promise<any> {
  const args = [`--input-type=${type}`, '-e', code]
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`node exited with ${err.code}: ${stderr || err.message}`))
      const lines = stdout.trim().split('\n')
      try {
        resolve(JSON.parse(lines[lines.length - 1]))
      } catch {
        reject(new Error(`no JSON on stdout: ${stdout}\n${stderr}`))
      }
    })
  })
}

describe('CommonJS and ESM entry points', () => {
  it('exports the public API from CommonJS require()', async () => {
    const names = await run(`const n = require(${JSON.stringify(cjsEntry)}); console.log(JSON.stringify(Object.keys(n).sort()))`, 'commonjs')
    expect(names).toEqual(EXPECTED_NAMES)
  })

  it('exports the same names from ESM import (plus a default export)', async () => {
    const names = await run(
      `const n = await import(${JSON.stringify(esmEntry)});
       console.log(JSON.stringify(Object.keys(n).filter((k) => k !== 'default').sort().concat(typeof n.default)))`,
      'module',
    )
    expect(names).toEqual([...EXPECTED_NAMES, 'object'])
  })

  it('resolves the package name to index.js for require and index.mjs for import (package.json exports)', async () => {
    const cjs = await run(`console.log(JSON.stringify(require.resolve('nebula-native')))`, 'commonjs')
    const esm = await run(`console.log(JSON.stringify(import.meta.resolve('nebula-native')))`, 'module')
    expect(cjs).toBe(cjsEntry)
    expect(esm).toBe(esmEntry)
  })

  it('gives ESM and CommonJS the very same objects: a class decorated via import is served by an engine made via require', async () => {
    const out = await run(
      `import * as esm from 'nebula-native'
       import { createRequire } from 'node:module'
       const cjs = createRequire(import.meta.url)('nebula-native')
       const same = Object.keys(cjs).every((k) => cjs[k] === esm[k])
       class Mixed { hi() { return 'mixed' } }
       esm.Route({ path: '/mixed' })(Mixed.prototype.hi, { kind: 'method', name: 'hi' })
       esm.Module('mixed')(Mixed, { kind: 'class', name: 'Mixed' })
       const engine = new cjs.Microservice({ name: 'mixed', version: '1.0.0', modules: [Mixed] })
       const res = await engine.request('/mixed')
       console.log(JSON.stringify({ same, status: res.status, body: await res.text() }))`,
      'module',
    )
    expect(out).toEqual({ same: true, status: 200, body: 'mixed' })
  })

  it('runs a module with wrapped handlers and routes from CommonJS (legacy-style decorator calls)', async () => {
    const out = await run(
      `const { Testing, Route, RoutePlugin } = require(${JSON.stringify(cjsEntry)})
       const log = []
       const wrap = { name: 'w', priority: 100, onHandlerLoad: (hs) => hs.forEach((h) => h.wrap(async (next) => { log.push('w'); return next() })) }
       const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), wrap] })
       class Cjs { hello(ctx) { return { from: 'cjs', path: ctx.req.path } } }
       Route({ path: '/cjs' })(Cjs.prototype, 'hello', Object.getOwnPropertyDescriptor(Cjs.prototype, 'hello'))
       Module('cjs')(Cjs)
       engine.request('/cjs').then(async (res) => {
         console.log(JSON.stringify({ status: res.status, body: await res.json(), log }))
       })`,
      'commonjs',
    )
    expect(out).toEqual({ status: 200, body: { from: 'cjs', path: '/cjs' }, log: ['w'] })
  })

  it('starts, serves over a socket and stops from ESM, letting the process exit', async () => {
    const out = await run(
      `import { Factory, Route, RoutePlugin } from ${JSON.stringify(esmEntry)}
       const { Module, Microservice } = Factory.create(new RoutePlugin())
       class Esm { ping() { return 'pong' } }
       Route({ path: '/ping' })(Esm.prototype.ping, { kind: 'method', name: 'ping' })
       Module('esm')(Esm, { kind: 'class', name: 'Esm' })
       const engine = new Microservice({ name: 'esm', version: '1.0.0', hostname: '127.0.0.1' })
       const port = await engine.start(0)
       const res = await fetch('http://127.0.0.1:' + port + '/ping')
       const body = await res.text()
       await engine.stop()
       console.log(JSON.stringify({ body, portOk: port > 0 }))`,
      'module',
    )
    expect(out).toEqual({ body: 'pong', portOk: true })
  })
})
