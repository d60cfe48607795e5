'use strict'

// Applying a changed config to a running engine, where that is safe:
//   services        → servicesPlugin.update(services): workers started, restarted, stopped
//   plugin options  → plugin.reconfigure(options), when the plugin class has it
// and refused, with a logged reason, where it is not: the listening address,
// name and version, engine limits, static folders, modules, the runtime
// folder, the hub, the script VM, a plugin or the services section added or
// removed, and plugin options of a class without reconfigure().
//
// The result says what was applied, what was refused and what failed;
// `config` is the configuration now in effect (the old one with the applied
// parts replaced; a refused or failed part keeps its old value), which the
// next reload compares against: a failed change is tried again then.

const { isDeepStrictEqual } = require('node:util')
const { PLUGIN_KEYS, pluginArg } = require('./plugins')
const { ENGINE_KEYS } = require('./load')

/** Sections only a restart applies, in the order they are reported. */
const RESTART_ONLY = ['name', 'version', 'port', 'host', ...ENGINE_KEYS, 'runtimeDir', 'modules', 'static', 'hub', 'jsvm']

const changed = (a, b) => !isDeepStrictEqual(a, b)
const isScalar = (v) => v === undefined || v === null || typeof v !== 'object'
const show = (v) => (v === undefined ? 'unset' : JSON.stringify(v))

function restartLine(what, before, after) {
  const how = isScalar(before) && isScalar(after) ? `changed from ${show(before)} to ${show(after)}` : 'changed'
  return `${what} ${how}: not applied, restart to apply`
}

/**
 * What differs between the config in effect and the new one:
 * `{ refused: [line], plugins: [key], services: boolean }`.
 */
function planReload(current, next) {
  const refused = []
  for (const key of RESTART_ONLY) {
    if (changed(current[key], next[key])) refused.push(restartLine(key, current[key], next[key]))
  }
  const plugins = []
  for (const key of PLUGIN_KEYS) {
    const before = current.plugins[key]
    const after = next.plugins[key]
    if (!changed(before, after)) continue
    if (before === undefined) refused.push(`plugins.${key} added: not applied, restart to apply`)
    else if (after === undefined) refused.push(`plugins.${key} removed: not applied, restart to apply`)
    else plugins.push(key)
  }
  let services = false
  if (changed(current.services, next.services)) {
    if (current.services === undefined) refused.push('services added: not applied, restart to apply')
    else if (next.services === undefined) refused.push('services removed: not applied, restart to apply')
    else services = true
  }
  return { refused, plugins, services }
}

const list = (names) => `[${names.join(', ')}]`

/**
 * Applies `next` to a running engine built from `running.config`
 * (`running`: `{ config, plugins, services }` as buildEngine returned them).
 * Never throws: failures are in the result and in the log.
 * `log(line)` gets one line per refusal or failure and a summary.
 * @param {any} running
 * @param {any} next
 * @param {(line: string) => void} [log]
 */
async function applyReload(running, next, log = () => {}) {
  const { refused, plugins: pluginKeys, services } = planReload(running.config, next)
  const applied = []
  const failed = []
  const effective = { ...running.config, plugins: { ...running.config.plugins } }

  for (const key of pluginKeys) {
    const plugin = running.plugins[key]
    if (!plugin || typeof plugin.reconfigure !== 'function') {
      refused.push(`plugins.${key} changed: not applied, restart to apply`)
      continue
    }
    try {
      plugin.reconfigure(pluginArg(key, next.plugins[key]))
      effective.plugins[key] = next.plugins[key]
      applied.push(`plugins.${key} reconfigured`)
    } catch (err) {
      const message = err?.message ? err.message : String(err)
      // A TypeError: invalid options. Another Error: valid, but only a restart can apply them.
      if (err instanceof TypeError) failed.push(`plugins.${key} not reconfigured: ${message}`)
      else refused.push(`plugins.${key} changed: not applied, restart to apply (${message.replace(/:? restart to apply$/, '')})`)
    }
  }

  if (services) {
    const plugin = running.services
    if (!plugin || typeof plugin.update !== 'function') {
      refused.push('services changed: not applied, restart to apply')
    } else {
      try {
        const r = (await plugin.update(next.services)) || {}
        // A service whose new workers did not become ready keeps its old configuration in the
        // gateway: it keeps it here too (or stays out, when it was added), so the next reload
        // sees the difference again and retries.
        const failures = r.failed || []
        const broken = new Set(failures.map((f) => f.service))
        const before = new Map((running.config.services || []).map((s) => [s.name, s]))
        effective.services = next.services.flatMap((s) => (!broken.has(s.name) ? [s] : before.has(s.name) ? [before.get(s.name)] : []))
        for (const what of ['started', 'restarted', 'rerouted', 'stopped']) {
          const names = (r[what] || []).filter((name) => !broken.has(name))
          if (names.length > 0) applied.push(`services ${what} ${list(names)}`)
        }
        for (const f of failures) failed.push(`services: ${f.service} failed, not applied: ${f.reason}`)
        // Only unchanged or description-only edits: say it was taken all the same.
        if (failures.length === 0 && applied.every((a) => !a.startsWith('services '))) applied.push('services updated')
      } catch (err) {
        failed.push(`services not updated: ${err?.message ? err.message : err}`)
      }
    }
  }

  for (const line of refused) log(`nebula: ${line}`)
  for (const line of failed) log(`nebula: ${line}`)
  if (applied.length > 0) log(`nebula: config reloaded: ${applied.join(', ')}`)
  else if (refused.length === 0 && failed.length === 0) log('nebula: config reloaded: no changes')
  else log('nebula: config reloaded: nothing applied')
  return { applied, refused, failed, config: effective }
}

module.exports = { planReload, applyReload, RESTART_ONLY }
