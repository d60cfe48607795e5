'use strict'

// Loading nebula.config.json: read, parse (syntax errors with line and
// column), apply the environment overrides, validate against the published
// schema, check plugin / service / hub / script-VM options with the classes'
// own checks, check that the files and folders it names exist, and resolve
// relative paths against the config file's folder. Every problem found is
// reported at once, in a ConfigError.

const fs = require('node:fs')
const path = require('node:path')
const SCHEMA = require('../../schema/nebula.config.schema.json')
const { validate } = require('./validate')
const { parseJson } = require('./json')
const { readConfigText } = require('./read')
const { ConfigError } = require('./errors')
const { envOverrides, checkHost } = require('./env')
const { configPath, DEFAULT_RUNTIME_DIR } = require('./locate')
const { PLUGIN_KEYS, checkPlugins, errorAt } = require('./plugins')
const { ENGINE_KEYS } = require('./keys')
const { startErrors } = require('./start-checks')

const DEFAULTS = { version: '1.0.0', port: 3000, host: '0.0.0.0', runtimeDir: DEFAULT_RUNTIME_DIR }

function readText(file) {
  if (/\.ya?ml$/i.test(file)) {
    throw new ConfigError(file, [
      { path: '', message: 'YAML config files are not supported (nebula-native ships no YAML parser): write the same settings as nebula.config.json' },
    ])
  }
  return readConfigText(file)
}

const under = (errors, at) => errors.some((e) => e.path === at || e.path.startsWith(`${at}.`) || e.path.startsWith(`${at}[`))

function exists(p, kind) {
  try {
    const st = fs.statSync(p)
    return kind === 'dir' ? st.isDirectory() : st.isFile()
  } catch {
    return false
  }
}

/** A services[i].socket path (not "auto", not tcp) relative to the config folder. */
function resolveSocket(socket, dir) {
  if (typeof socket === 'string') return socket === 'auto' || socket.startsWith('tcp://') ? socket : path.resolve(dir, socket)
  if (socket && typeof socket.path === 'string') return { path: path.resolve(dir, socket.path) }
  return socket
}

/**
 * The raw config → what the engine is built from: sections normalized, paths
 * absolute. A section with schema errors is left out (so the other sections
 * still get their deeper checks).
 */
function normalize(raw, env, file, errors) {
  const dir = path.dirname(file)
  const abs = (p) => path.resolve(dir, p)
  const ok = (at) => raw[at] !== undefined && !under(errors, at)
  const config = {
    file,
    dir,
    name: env.name ?? raw.name,
    version: raw.version ?? DEFAULTS.version,
    port: env.port ?? raw.port ?? DEFAULTS.port,
    host: env.host ?? raw.host ?? DEFAULTS.host,
    runtimeDir: env.runtimeDir ?? abs(ok('runtimeDir') ? raw.runtimeDir : DEFAULTS.runtimeDir),
    modules: ok('modules') ? raw.modules.map(abs) : [],
    static: ok('static') ? /** @type {any[]} */ ([]).concat(raw.static).map((s) => ({ ...s, path: abs(s.path) })) : undefined,
    plugins: {},
    services: ok('services') ? raw.services.map((s) => normalizeService(s, dir)) : undefined,
    hub: ok('hub') && raw.hub ? (raw.hub === true ? {} : raw.hub) : undefined,
    jsvm: ok('jsvm') && raw.jsvm ? normalizeJsvm(raw.jsvm, abs) : undefined,
  }
  for (const k of ENGINE_KEYS) if (raw[k] !== undefined) config[k] = raw[k]
  const plugins = raw.plugins && typeof raw.plugins === 'object' ? raw.plugins : {}
  for (const key of PLUGIN_KEYS) {
    const v = plugins[key]
    if (under(errors, `plugins.${key}`)) continue
    if (v === true) config.plugins[key] = {}
    else if (v && typeof v === 'object') config.plugins[key] = v
  }
  return config
}

function normalizeJsvm(jsvm, abs) {
  const out = { ...jsvm, hooksDir: abs(jsvm.hooksDir) }
  if (jsvm.pluginsDir !== undefined) out.pluginsDir = abs(jsvm.pluginsDir)
  return out
}

function normalizeService(s, dir) {
  const out = { ...s, cwd: path.resolve(dir, s.cwd ?? '.') }
  if (s.socket !== undefined) out.socket = resolveSocket(s.socket, dir)
  return out
}

/** Where ServicesPlugin puts the workers' sockets. */
const workersDir = (config) => path.join(config.runtimeDir, 'workers')

/** Checks the schema cannot express: plugin options, services, files and folders. */
function deepChecks(config, raw, errors) {
  const out = []
  out.push(...checkPlugins(config.plugins, config.hub, config.jsvm))
  if (config.services) {
    try {
      const { ServicesPlugin } = require('../plugins/services')
      new ServicesPlugin({ services: config.services, runtimeDir: workersDir(config) })
    } catch (err) {
      out.push(errorAt('', err))
    }
  }
  const staticAt = (i) => (Array.isArray(raw.static) ? `static[${i}]` : 'static')
  const reported = (at) => under(errors, at) || under(out, at)
  // The file's host, checked as NEBULA_HOST is: the listen would fail on it.
  if (typeof raw.host === 'string' && !under(errors, 'host')) {
    try {
      checkHost(raw.host)
    } catch (err) {
      out.push({ path: 'host', message: err.message })
    }
  }
  const missing = (at, p, kind) => {
    if (!under(errors, at) && !exists(p, kind)) out.push({ path: at, message: `no such ${kind === 'dir' ? 'folder' : 'file'}: ${p}` })
  }
  config.modules.forEach((m, i) => {
    missing(`modules[${i}]`, m, 'file')
  })
  ;(config.static || []).forEach((s, i) => {
    missing(`${staticAt(i)}.path`, s.path, 'dir')
  })
  ;(config.services || []).forEach((s, i) => {
    missing(`services[${i}].cwd`, s.cwd, 'dir')
  })
  if (config.jsvm) {
    missing('jsvm.hooksDir', config.jsvm.hooksDir, 'dir')
    if (config.jsvm.pluginsDir) missing('jsvm.pluginsDir', config.jsvm.pluginsDir, 'dir')
  }
  out.push(...startErrors(config, { staticAt, skip: reported }))
  return out
}

/**
 * Parses and checks config text read from `file` (which places relative
 * paths and names the errors). Returns the normalized config or throws a
 * ConfigError listing every problem.
 */
function parseConfig(text, file, { env = process.env, cwd = process.cwd() } = {}) {
  file = path.resolve(cwd, file)
  const raw = parseJson(text, file)
  const overrides = envOverrides(env, cwd)
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, [{ path: '', message: 'must be a JSON object { "name": …, … }' }, ...overrides.errors])
  }
  // A name from NEBULA_NAME satisfies "name is required"; other overrides replace valid values only.
  const checked = raw.name === undefined && overrides.values.name !== undefined ? { ...raw, name: overrides.values.name } : raw
  const errors = [...validate(SCHEMA, checked), ...overrides.errors]
  const config = normalize(raw, overrides.values, file, errors)
  errors.push(...deepChecks(config, raw, errors))
  if (errors.length > 0) throw new ConfigError(file, errors)
  return config
}

/**
 * Loads the config file: `file` (relative to `cwd`), else NEBULA_CONFIG, else
 * ./nebula.config.json. Throws a ConfigError naming every problem.
 */
function loadConfig(file, { env = process.env, cwd = process.cwd() } = {}) {
  const abs = configPath(file, env, cwd)
  return parseConfig(readText(abs), abs, { env, cwd })
}

module.exports = { loadConfig, parseConfig, workersDir, ENGINE_KEYS, DEFAULTS, SCHEMA }
