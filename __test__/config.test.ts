// nebula.config.json: a valid file builds an engine that serves; every kind of
// error names its field, all of them at once; environment overrides (and
// their checks, and what gateway workers inherit); the published schema and
// its export; hot reload (planning with stand-in plugins, then a real engine
// whose file is edited while it serves, swapped through symbolic links, or
// cannot be watched).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig, buildEngine, startFromConfig, ConfigError, Microservice } from '../index.js'
import { eventually } from './helpers/wait'
import { freePort } from './helpers/servers'

const { applyReload } = require('../lib/config/reload')
const { DEFAULTS: ENGINE_DEFAULTS } = require('../lib/options')
const SCHEMA = require('../schema/nebula.config.schema.json')

const root = path.join(__dirname, '..')
const workers = path.join(__dirname, 'fixtures', 'workers')
const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbcfg-'))
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

function writeConfig(dir: string, config: unknown, name = 'nebula.config.json') {
  const file = path.join(dir, name)
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2))
  return file
}

/** The ConfigError loading `file` throws (fails the test if it loads). */
function problems(file: string, env: Record<string, string> = {}): ConfigError {
  try {
    loadConfig(file, { env })
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`${file} loaded without errors`)
}

describe('loading a valid config', () => {
  it('builds an engine serving its modules (CommonJS and ESM), plugins, static folder and name', async () => {
    const dir = tmpDir()
    fs.mkdirSync(path.join(dir, 'public'))
    fs.writeFileSync(path.join(dir, 'public', 'index.html'), '<h1>static</h1>')
    fs.writeFileSync(
      path.join(dir, 'hello.js'),
      `const { Module, Route } = require(${JSON.stringify(path.join(root, 'index.js'))})
class Hello { hello() { return { hello: 'world' } } }
Route({ path: '/hello' })(Hello.prototype, 'hello', Object.getOwnPropertyDescriptor(Hello.prototype, 'hello'))
Module('hello')(Hello)`,
    )
    fs.writeFileSync(
      path.join(dir, 'esm.mjs'),
      `import { Module, Route } from ${JSON.stringify(path.join(root, 'index.mjs'))}
class Esm { hi() { return 'from esm' } }
Route({ path: '/esm' })(Esm.prototype, 'hi', Object.getOwnPropertyDescriptor(Esm.prototype, 'hi'))
Module('esm')(Esm)`,
    )
    const file = writeConfig(dir, {
      name: 'from-file',
      version: '2.3.4',
      port: 0,
      host: '127.0.0.1',
      modules: ['./hello.js', 'esm.mjs'],
      static: { prefix: '/assets', path: 'public' },
      plugins: { cors: true, rateLimit: { maxRequests: 50 }, route: { prefix: '/v1' }, logger: false },
    })
    const config = loadConfig(file)
    expect(config).toMatchObject({ name: 'from-file', version: '2.3.4', port: 0, host: '127.0.0.1', runtimeDir: path.join(dir, '.nebula') })
    expect(config.modules).toEqual([path.join(dir, 'hello.js'), path.join(dir, 'esm.mjs')])
    expect(Object.keys(config.plugins)).toEqual(['cors', 'rateLimit', 'route'])

    const { engine, plugins } = await buildEngine(config)
    cleanups.push(() => engine.stop())
    expect(engine).toBeInstanceOf(Microservice)
    expect(Object.keys(plugins)).toEqual(['cors', 'rateLimit', 'route'])
    const port = await engine.start(config.port)
    const base = `http://127.0.0.1:${port}`

    const res = await fetch(`${base}/v1/hello`, { headers: { origin: 'https://app.example.com' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ hello: 'world' })
    expect(res.headers.get('ratelimit-limit')).toBe('50')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(await (await fetch(`${base}/v1/esm`)).text()).toBe('from esm')
    expect(await (await fetch(`${base}/assets/`)).text()).toBe('<h1>static</h1>')
    expect(await (await fetch(`${base}/_version`)).json()).toMatchObject({ name: 'from-file', version: '2.3.4' })
  })

  it('fills in the defaults and resolves relative paths against the config file', () => {
    const dir = tmpDir()
    fs.mkdirSync(path.join(dir, 'app'))
    const file = writeConfig(dir, {
      name: 'svc',
      runtimeDir: 'run',
      plugins: { metrics: true, compression: { level: 5 } },
      services: [
        { name: 'py', command: ['python3', 'x.py'], routes: ['/py/*'] },
        { name: 'b', command: ['b'], routes: ['/b'], cwd: 'app' },
      ],
    })
    const config = loadConfig(path.relative(process.cwd(), file))
    expect(config).toMatchObject({ file, dir, version: '1.0.0', port: 3000, host: '0.0.0.0', runtimeDir: path.join(dir, 'run'), modules: [] })
    expect(config.plugins).toEqual({ metrics: {}, compression: { level: 5 } })
    expect(config.services!.map((s) => s.cwd)).toEqual([dir, path.join(dir, 'app')])
    expect(config.hub).toBeUndefined()
    expect(config.jsvm).toBeUndefined()
  })

  it('loads the gateway example', () => {
    const config = loadConfig(path.join(root, 'examples', 'gateway', 'nebula.config.json'))
    expect(config.services!.map((s) => [s.name, s.instances ?? 1])).toEqual([
      ['py', 2],
      ['node', 1],
    ])
  })
})

describe('config errors', () => {
  it('reports every problem at once, each naming the file, the field and what is wrong', () => {
    const dir = tmpDir()
    const file = writeConfig(dir, {
      name: '',
      port: 'x',
      bodyLimit: 0,
      prot: 3000,
      plugins: { ratelimit: true, rateLimit: { maxRequests: 'x', key: 'y' }, logger: { format: 'xml' } },
      services: [
        { name: 'py', command: [], routes: ['api'] },
        { command: ['x'], routes: ['/b'], instances: 1.5 },
      ],
      jsvm: true,
    })
    const err = problems(file)
    // Outside the working folder the file is named by its absolute path.
    expect(err.lines.every((l) => l.startsWith(`${file}: `))).toBe(true)
    expect(err.lines.map((l) => l.slice(file.length + 2))).toEqual([
      'name: must be a non-empty string, got ""',
      'port: must be an integer from 0 to 65535, got "x"',
      'bodyLimit: must be an integer from 1 to 4294967295, got 0',
      'prot: unknown key (did you mean "port"?)',
      'plugins.ratelimit: unknown key (did you mean "rateLimit"?)',
      'plugins.rateLimit.maxRequests: must be an integer from 1 to 1000000000, got "x"',
      'plugins.rateLimit.key: must be "ip", { "header": name } or { "claim": name }, got "y"',
      'plugins.logger.format: must be one of "json", "pretty", got "xml"',
      'services[0].command: must have at least 1 item, got 0',
      'services[0].routes[0]: must be a route starting with /, got "api"',
      'services[1].name: is required',
      'services[1].instances: must be an integer from 1 to 1024, got 1.5',
      'jsvm: must be false or an object, got true',
    ])
    expect(err.message).toMatch(/^13 errors in .*nebula\.config\.json:\n/)
    expect(err.errors[1]).toEqual({ path: 'port', message: 'must be an integer from 0 to 65535, got "x"' })
  })

  it("names the field for the plugins' own checks, the gateway's, the hub's and missing files", () => {
    const dir = tmpDir()
    const file = writeConfig(dir, {
      name: 'svc',
      modules: ['./missing.js'],
      static: [{ path: 'public' }],
      plugins: {
        jwtAuth: { algorithm: 'HS256', secret: 'short' },
        cors: { origins: ['https://a.example.com/'] },
        rateLimit: { key: { header: 'bad header' } },
      },
      services: [
        { name: 'a', command: ['x'], routes: ['/a/*'] },
        { name: 'a', command: ['y'], routes: ['/b'] },
      ],
      hub: { auth: { secret: 'short' } },
      jsvm: { hooksDir: 'hooks' },
    })
    const lines = problems(file).errors.map((e) => `${e.path}: ${e.message}`)
    expect(lines).toEqual([
      'plugins.cors.origins[0]: "https://a.example.com/" is not an origin: scheme://host[:port], without a path or a trailing slash',
      'plugins.jwtAuth.secret: must be at least 32 bytes for HS256',
      'plugins.rateLimit.key.header: must be a header name, got "bad header"',
      'hub.auth: jwt: secret must be at least 32 bytes for HS256',
      'services[1].name: "a" is already the name of services[0]',
      `modules[0]: no such file: ${path.join(dir, 'missing.js')}`,
      `static[0].path: no such folder: ${path.join(dir, 'public')}`,
      `jsvm.hooksDir: no such folder: ${path.join(dir, 'hooks')}`,
    ])
  })

  it('gives the line and column of a JSON syntax error; missing files, non-objects and YAML are clear errors', () => {
    const dir = tmpDir()
    expect(problems(writeConfig(dir, '{\n  "name": "a",\n}')).errors[0].message).toBe('invalid JSON at line 3, column 1: Expected double-quoted property name')
    expect(problems(writeConfig(dir, '{"name": tru}')).errors[0].message).toBe("invalid JSON at line 1, column 13: Unexpected token '}'")
    expect(problems(writeConfig(dir, '')).errors[0].message).toBe('invalid JSON at line 1, column 1: unexpected end of file')
    expect(problems(writeConfig(dir, '[1]')).errors[0].message).toMatch(/^must be a JSON object/)
    expect(problems(path.join(dir, 'nope.json')).errors[0].message).toBe(`cannot read the config file: no such file (${path.join(dir, 'nope.json')})`)
    expect(problems(writeConfig(dir, 'name: a', 'nebula.config.yaml')).errors[0].message).toMatch(/^YAML config files are not supported/)
  })
})

describe('environment overrides', () => {
  it('NEBULA_PORT, NEBULA_HOST, NEBULA_NAME, NEBULA_RUNTIME_DIR override the file; NEBULA_CONFIG names it', () => {
    const dir = tmpDir()
    const file = writeConfig(dir, { name: 'file-name', port: 1000 }, 'custom.json')
    const env = { NEBULA_CONFIG: file, NEBULA_PORT: '4321', NEBULA_HOST: '127.0.0.1', NEBULA_NAME: 'env-name', NEBULA_RUNTIME_DIR: 'rt' }
    const config = loadConfig(undefined, { env, cwd: dir })
    expect(config).toMatchObject({ file, name: 'env-name', port: 4321, host: '127.0.0.1', runtimeDir: path.join(dir, 'rt') })
    // An empty variable counts as unset; the --config argument wins over NEBULA_CONFIG.
    const other = writeConfig(dir, { name: 'other' }, 'other.json')
    expect(loadConfig(other, { env: { NEBULA_CONFIG: file, NEBULA_PORT: '' } })).toMatchObject({ name: 'other', port: 3000 })
  })

  it('a bad value names the variable, and NEBULA_NAME stands in for a missing name', () => {
    const dir = tmpDir()
    const file = writeConfig(dir, { port: 'x' })
    const err = problems(file, { NEBULA_PORT: 'abc' })
    expect(err.errors).toEqual([
      { path: 'name', message: 'is required' },
      { path: 'port', message: 'must be an integer from 0 to 65535, got "x"' },
      { path: '', message: 'must be an integer from 0 to 65535, got "abc"', source: 'NEBULA_PORT' },
    ])
    expect(err.lines[2]).toBe('NEBULA_PORT: must be an integer from 0 to 65535, got "abc"')
    expect(problems(file, { NEBULA_PORT: '70000', NEBULA_NAME: 'n' }).lines.map((l) => l.replace(/^[^:]*: /, ''))).toEqual([
      'port: must be an integer from 0 to 65535, got "x"',
      'must be an integer from 0 to 65535, got "70000"',
    ])
  })
})

describe('environment checks', () => {
  it('a blank NEBULA_NAME and a NEBULA_HOST that is neither an address nor a host name are errors naming the variable', () => {
    const dir = tmpDir()
    const file = writeConfig(dir, { name: 'svc' })
    expect(problems(file, { NEBULA_NAME: ' ', NEBULA_HOST: 'bogus host!' }).lines).toEqual([
      'NEBULA_HOST: must be an IP address or a host name, got "bogus host!"',
      'NEBULA_NAME: must be a name (not blank, no control characters), got " "',
    ])
    expect(problems(file, { NEBULA_HOST: 'http://example.com' }).lines).toEqual(['NEBULA_HOST: must be an IP address or a host name, got "http://example.com"'])
    for (const host of ['127.0.0.1', '::1', '0.0.0.0', 'localhost', 'api.internal.example.com']) {
      expect(loadConfig(file, { env: { NEBULA_HOST: host } }).host).toBe(host)
    }
    expect(loadConfig(file, { env: { NEBULA_NAME: 'my service' } }).name).toBe('my service')
  })

  it('startFromConfig does not pass NEBULA_PORT and NEBULA_HOST on to gateway workers (it removes them from process.env)', async () => {
    const dir = tmpDir()
    const port = await freePort()
    const report = `require('http').createServer((q, s) => s.end(JSON.stringify({ port: process.env.NEBULA_PORT ?? null, host: process.env.NEBULA_HOST ?? null }))).listen(process.env.NEBULA_SOCKET)`
    const file = writeConfig(dir, {
      name: 'env',
      port: 1,
      host: '0.0.0.0',
      services: [{ name: 'w', command: [process.execPath, '-e', report], routes: ['/w'] }],
    })
    const saved = { port: process.env.NEBULA_PORT, host: process.env.NEBULA_HOST }
    cleanups.push(() => {
      for (const [k, v] of [
        ['NEBULA_PORT', saved.port],
        ['NEBULA_HOST', saved.host],
      ] as const) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    })
    process.env.NEBULA_PORT = String(port)
    process.env.NEBULA_HOST = '127.0.0.1'
    const app = await startFromConfig({ config: file, watch: false, log: () => {} })
    cleanups.push(() => app.close())
    expect(app.port).toBe(port)
    expect(app.config.host).toBe('127.0.0.1')
    expect(process.env.NEBULA_PORT).toBeUndefined()
    expect(process.env.NEBULA_HOST).toBeUndefined()
    await eventually('the worker ready', () => app.services!.status().services[0].ready === 1)
    expect(await (await fetch(`http://127.0.0.1:${port}/w`)).json()).toEqual({ port: null, host: null })
    // Reloads read the environment as it was.
    expect(await app.reload()).toMatchObject({ refused: [], errors: [] })
  })
})

describe('the published schema', () => {
  it('is draft 2020-12 with an $id, descriptions, defaults that match the engine, and no unknown keys anywhere', () => {
    expect(SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    expect(SCHEMA.$id).toMatch(/^https:\/\/.*nebula\.config\.schema\.json$/)
    for (const [key, prop] of Object.entries<any>(SCHEMA.properties)) expect(prop.description, key).toBeTruthy()
    for (const key of ['bodyLimit', 'responseLimit', 'handlerTimeout', 'headerTimeout', 'bodyTimeout', 'maxConnections', 'shutdownTimeout']) {
      expect(SCHEMA.properties[key].default, key).toBe(ENGINE_DEFAULTS[key])
    }
    expect(SCHEMA.properties.host.default).toBe(ENGINE_DEFAULTS.hostname)
    const objects: any[] = [SCHEMA]
    const walk = (s: any) => {
      if (!s || typeof s !== 'object') return
      if (s.type === 'object' && s.additionalProperties === undefined) objects.push(s)
      Object.values(s).forEach(walk)
    }
    walk(SCHEMA)
    // Only `env` (a map of variables) is open, and it says what its values are.
    expect(objects.slice(1)).toEqual([])
    expect(SCHEMA.$defs.service.properties.env.additionalProperties).toEqual({ type: 'string' })
  })

  it('is exported: nebula-native/schema/nebula.config.schema.json (require and import)', () => {
    const code = [
      `const cjs = require('nebula-native/schema/nebula.config.schema.json')`,
      `import('nebula-native/schema/nebula.config.schema.json', { with: { type: 'json' } }).then((m) => console.log(JSON.stringify([require.resolve('nebula-native/schema/nebula.config.schema.json'), cjs.$id, m.default.$id])))`,
    ].join('\n')
    const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' })
    expect(r.stderr.replace(/^.*ExperimentalWarning.*\n|^\(Use `node --trace-warnings.*\n/gm, '')).toBe('')
    expect(JSON.parse(r.stdout)).toEqual([path.join(root, 'schema', 'nebula.config.schema.json'), SCHEMA.$id, SCHEMA.$id])
  })
})

describe('hot reload', () => {
  const base = {
    file: '/x/nebula.config.json',
    dir: '/x',
    name: 'svc',
    version: '1.0.0',
    port: 3000,
    host: '0.0.0.0',
    runtimeDir: '/x/.nebula',
    modules: [],
    plugins: { rateLimit: { maxRequests: 10 }, cors: {} },
    services: [{ name: 'py', command: ['python3'], routes: ['/py/*'], cwd: '/x' }],
  }

  it('applies plugin options and services, refuses the rest with a reason, one line each', async () => {
    const log: string[] = []
    const reconfigure = vi.fn()
    const update = vi.fn(async () => ({ started: ['node'], restarted: ['py'], rerouted: [], stopped: [], unchanged: [], failed: [] }))
    const running = { config: base, plugins: { rateLimit: { reconfigure }, cors: {} }, services: { update } }
    const services = [...base.services, { name: 'node', command: ['node'], routes: ['/n/*'], cwd: '/x' }]
    const next = {
      ...base,
      port: 3001,
      host: '127.0.0.1',
      static: [{ path: '/x/public' }],
      plugins: { rateLimit: { maxRequests: 20 }, cors: { maxAge: 5 }, logger: {} },
      services,
    }
    const r = await applyReload(running, next, (l: string) => log.push(l))
    expect(reconfigure).toHaveBeenCalledWith({ maxRequests: 20 })
    expect(update).toHaveBeenCalledWith(services)
    expect(log).toEqual([
      'nebula: port changed from 3000 to 3001: not applied, restart to apply',
      'nebula: host changed from "0.0.0.0" to "127.0.0.1": not applied, restart to apply',
      'nebula: static changed: not applied, restart to apply',
      'nebula: plugins.logger added: not applied, restart to apply',
      'nebula: plugins.cors changed: not applied, restart to apply',
      'nebula: config reloaded: plugins.rateLimit reconfigured, services started [node], services restarted [py]',
    ])
    // What is in effect now: the applied parts of the new file, the refused parts of the old one.
    expect(r.config).toMatchObject({ port: 3000, host: '0.0.0.0', plugins: { rateLimit: { maxRequests: 20 }, cors: {} }, services })
    expect(r.config.static).toBeUndefined()
  })

  it('keeps the running state for what fails: a reconfigure that throws, an update that rejects', async () => {
    const log: string[] = []
    const running = {
      config: base,
      plugins: {
        rateLimit: {
          reconfigure: () => {
            throw new TypeError('RateLimitPlugin: maxRequests must be an integer')
          },
        },
        cors: {},
      },
      services: {
        update: async () => {
          throw new TypeError('ServicesPlugin: services[0].routes: bad')
        },
      },
    }
    const next = { ...base, plugins: { ...base.plugins, rateLimit: { maxRequests: 0 } }, services: [{ ...base.services[0], instances: 2 }] }
    const r = await applyReload(running, next, (l: string) => log.push(l))
    expect(log).toEqual([
      'nebula: plugins.rateLimit not reconfigured: RateLimitPlugin: maxRequests must be an integer',
      'nebula: services not updated: ServicesPlugin: services[0].routes: bad',
      'nebula: config reloaded: nothing applied',
    ])
    expect(r.config).toEqual(base)
    // Valid options only a restart can apply (the plugin says so with a plain Error): refused.
    const restartOnly = {
      ...running,
      plugins: {
        rateLimit: {
          reconfigure: () => {
            throw new Error('RateLimitPlugin: the new options change which layers get has: restart to apply')
          },
        },
      },
    }
    log.length = 0
    await applyReload(restartOnly, { ...base, plugins: { ...base.plugins, rateLimit: { maxRequests: 5 } } }, (l: string) => log.push(l))
    expect(log).toEqual([
      'nebula: plugins.rateLimit changed: not applied, restart to apply (RateLimitPlugin: the new options change which layers get has)',
      'nebula: config reloaded: nothing applied',
    ])
    expect(await applyReload({ ...running, config: base }, { ...base, file: '/elsewhere' }, () => {})).toMatchObject({ applied: [], refused: [], failed: [] })
  })

  it('a service whose new workers fail keeps its old entry in the config in effect (so the next reload tries again), and is reported as failed, not applied', async () => {
    const log: string[] = []
    const py = base.services[0]
    const update = vi.fn(async () => ({
      started: ['node'],
      restarted: ['py'],
      rerouted: [],
      stopped: [],
      unchanged: [],
      failed: [{ service: 'py', reason: 'exited with code 3 before it was ready' }],
    }))
    const running = { config: base, plugins: {}, services: { update } }
    const next = {
      ...base,
      services: [
        { ...py, command: ['broken'] },
        { name: 'node', command: ['node'], routes: ['/n/*'], cwd: '/x' },
      ],
    }
    const r = await applyReload(running, next, (l: string) => log.push(l))
    expect(r.failed).toEqual(['services: py failed, not applied: exited with code 3 before it was ready'])
    expect(r.applied).toEqual(['services started [node]'])
    expect(r.config.services).toEqual([py, next.services[1]])
    expect(log).toEqual([
      'nebula: services: py failed, not applied: exited with code 3 before it was ready',
      'nebula: config reloaded: services started [node]',
    ])
    // Tried again at the next reload (the file did not change): py differs still.
    const again = await applyReload({ ...running, config: r.config }, next, () => {})
    expect(update).toHaveBeenCalledTimes(2)
    expect(again.failed).toHaveLength(1)
    // An added service that failed stays out.
    const added = vi.fn(async () => ({
      started: ['node'],
      restarted: [],
      rerouted: [],
      stopped: [],
      unchanged: ['py'],
      failed: [{ service: 'node', reason: 'not ready' }],
    }))
    const r2 = await applyReload({ ...running, services: { update: added } }, { ...base, services: [py, next.services[1]] }, () => {})
    expect(r2.config.services).toEqual([py])
    expect(r2.applied).toEqual([])
  })

  it('watches the file of a running engine: services updated, plugin reconfigured, port refused, invalid edits ignored', async () => {
    const dir = tmpDir()
    const log: string[] = []
    const config = {
      name: 'watched',
      port: 0,
      host: '127.0.0.1',
      plugins: { rateLimit: { maxRequests: 1000 } },
      services: [{ name: 'node', command: [process.execPath, path.join(workers, 'echo.js')], routes: ['/api/node/*'], healthPath: '/health' }],
    }
    const file = writeConfig(dir, config)
    const app = await startFromConfig({ config: file, log: (l) => log.push(l) })
    cleanups.push(() => app.close())
    const url = `http://127.0.0.1:${app.port}/api/node/x`
    const instances = () => app.services!.status().services[0].instances
    await eventually('the worker ready', () => app.services!.status().services[0].ready === 1)
    expect((await fetch(url)).headers.get('ratelimit-limit')).toBe('1000')
    const pid = instances()[0].pid

    const until = async (line: string) => eventually(`log line ${JSON.stringify(line)}`, () => log.some((l) => l.includes(line)), 10_000)
    writeConfig(dir, { ...config, port: 1, plugins: { rateLimit: { maxRequests: 500 } }, services: [{ ...config.services[0], instances: 2 }] })
    await until('config reloaded:')
    expect(log).toContain('nebula: port changed from 0 to 1: not applied, restart to apply')
    await eventually('two ready instances', () => app.services!.status().services[0].ready === 2)
    expect((await fetch(url)).headers.get('ratelimit-limit')).toBe('500')
    expect(app.config.port).toBe(0)
    expect(app.lastReload).toMatchObject({ refused: ['port changed from 0 to 1: not applied, restart to apply'], errors: [] })

    // Saved the way many editors do: a new file renamed over the old one.
    log.length = 0
    fs.renameSync(writeConfig(dir, { ...config, services: [{ ...config.services[0], instances: 'two' }] }, 'nebula.config.json.tmp'), file)
    await until('config not reloaded')
    expect(log).toContain(`  ${file}: services[0].instances: must be an integer from 1 to 1024, got "two"`)
    expect((await fetch(url)).status).toBe(200)
    expect(instances().length).toBe(2)
    expect(instances().some((i) => i.pid === pid) || instances().every((i) => i.state === 'ready')).toBe(true)
  })

  it('follows symbolic link swaps: a `current -> releases/vN` link and a Kubernetes ConfigMap `..data` link', async () => {
    const dir = tmpDir()
    const mod = path.join(dir, 'swapped.js')
    fs.writeFileSync(
      mod,
      `const { Module, Route } = require(${JSON.stringify(path.join(root, 'index.js'))})
class Swapped { get() { return 'ok' } }
Route({ path: '/swapped' })(Swapped.prototype, 'get', Object.getOwnPropertyDescriptor(Swapped.prototype, 'get'))
Module('swapped')(Swapped)`,
    )
    const config = (maxRequests: number) => ({ name: 'swapped', port: 0, host: '127.0.0.1', modules: [mod], plugins: { rateLimit: { maxRequests } } })
    // current -> releases/v1 (the file is current/nebula.config.json)
    for (const [v, n] of [
      ['v1', 100],
      ['v2', 200],
    ] as const) {
      fs.mkdirSync(path.join(dir, 'releases', v), { recursive: true })
      writeConfig(path.join(dir, 'releases', v), config(n))
    }
    fs.symlinkSync('releases/v1', path.join(dir, 'current'))
    // A ConfigMap volume: nebula.config.json -> ..data/nebula.config.json, ..data -> ..2024_01
    const cm = path.join(dir, 'configmap')
    for (const [v, n] of [
      ['..2024_01', 300],
      ['..2024_02', 400],
    ] as const) {
      fs.mkdirSync(path.join(cm, v), { recursive: true })
      writeConfig(path.join(cm, v), config(n))
    }
    fs.symlinkSync('..2024_01', path.join(cm, '..data'))
    fs.symlinkSync('..data/nebula.config.json', path.join(cm, 'nebula.config.json'))
    /** Replaces the link `at` by one to `target`, atomically, as deployments do. */
    const swap = (at: string, target: string) => {
      fs.symlinkSync(target, `${at}.tmp`)
      fs.renameSync(`${at}.tmp`, at)
    }

    for (const [file, doSwap, before, after] of [
      [path.join(dir, 'current', 'nebula.config.json'), () => swap(path.join(dir, 'current'), 'releases/v2'), '100', '200'],
      [path.join(cm, 'nebula.config.json'), () => swap(path.join(cm, '..data'), '..2024_02'), '300', '400'],
    ] as const) {
      const log: string[] = []
      const app = await startFromConfig({ config: file, log: (l) => log.push(l) })
      cleanups.push(() => app.close())
      const url = `http://127.0.0.1:${app.port}/swapped`
      expect((await fetch(url)).headers.get('ratelimit-limit')).toBe(before)
      doSwap()
      await eventually(`the reload of ${file}`, () => log.includes('nebula: config reloaded: plugins.rateLimit reconfigured'))
      expect((await fetch(url)).headers.get('ratelimit-limit')).toBe(after)
      // Another file of the folder, a touch: no reload.
      log.length = 0
      fs.writeFileSync(path.join(path.dirname(file), 'other.txt'), 'x')
      const now = new Date()
      fs.utimesSync(file, now, now)
      expect(await app.reload()).toMatchObject({ applied: [], refused: [], failed: [] })
      expect(log).toEqual(['nebula: config reloaded: no changes'])
      await app.close()
    }
  })

  it('serves without watching when the file cannot be watched (fs.watch throws ENOSPC)', async () => {
    const dir = tmpDir()
    const file = writeConfig(dir, { name: 'unwatched', port: 0, host: '127.0.0.1', plugins: { rateLimit: { maxRequests: 10 } } })
    const spy = vi.spyOn(fs, 'watch').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached, watch'), { code: 'ENOSPC' })
    })
    cleanups.push(() => spy.mockRestore())
    const log: string[] = []
    const app = await startFromConfig({ config: file, log: (l) => log.push(l) })
    cleanups.push(() => app.close())
    expect(spy).toHaveBeenCalled()
    expect(log).toEqual([
      `nebula: warning: cannot watch ${file} (ENOSPC: System limit for number of file watchers reached, watch): running without watching it; reload with "nebula reload" (or SIGHUP)`,
    ])
    expect((await fetch(`http://127.0.0.1:${app.port}/health`)).status).toBe(200)
    writeConfig(dir, { name: 'unwatched', port: 0, host: '127.0.0.1', plugins: { rateLimit: { maxRequests: 20 } } })
    expect(await app.reload()).toMatchObject({ applied: ['plugins.rateLimit reconfigured'] })
  })
})
