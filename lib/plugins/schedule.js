'use strict'

// SchedulePlugin: `@Schedule` methods run on a timer (an interval or a cron
// expression) on exactly one node of the service. Each job has a lease
// (`schedule:<name>`) in the coordinator (crates/nebula-core/src/coord/: in process, Redis or
// NATS KV): a node runs a job only while it holds the lease. The holder
// renews every ttl/3, the others try to take it every ttl/3, so a dead
// leader's job moves to another node within ttl + ttl/3; a stopping node
// releases its leases, so the next one takes over within ttl/3.

const { performance } = require('node:perf_hooks')
const binding = require('../native')
const { PluginPriority } = require('../priority')
const { Handler } = require('../decorators')
const { createCoordinator, defaultNodeId, checkIdString, checkKeys, checkMs, isPlainObject } = require('./coordinator')
const { logError, messageOf } = require('../fault')
const { withinLimit, MAX_DELAY } = require('../deadline')

const ScheduleMode = Object.freeze({ FIXED_RATE: 'FIXED_RATE', FIXED_DELAY: 'FIXED_DELAY' })
const MODES = Object.values(ScheduleMode)

/** `@Schedule` options: exactly one of interval (ms) and cron; mode, name, enabled. */
function checkScheduleOptions(options, who) {
  if (!isPlainObject(options)) throw new TypeError(`${who}: options must be an object { interval | cron, mode?, name?, enabled? }`)
  checkKeys(options, ['interval', 'cron', 'mode', 'name', 'enabled'], who)
  const { interval, cron, mode, name, enabled } = options
  if ((interval === undefined) === (cron === undefined)) {
    throw new TypeError(`${who}: give exactly one of interval (ms) or cron (a 5-field expression such as "*/5 * * * *")`)
  }
  if (interval !== undefined) checkMs(interval, 'interval', 1, who, MAX_DELAY)
  if (cron !== undefined) {
    if (typeof cron !== 'string') throw new TypeError(`${who}: cron must be a string such as "*/5 * * * *"`)
    try {
      binding.cronNext(cron, Date.now())
    } catch (err) {
      throw new TypeError(`${who}: ${err.message}`)
    }
  }
  if (mode !== undefined && !MODES.includes(mode)) {
    throw new TypeError(`${who}: mode must be ScheduleMode.FIXED_RATE or ScheduleMode.FIXED_DELAY, got ${JSON.stringify(mode)}`)
  }
  if (cron !== undefined && mode === ScheduleMode.FIXED_DELAY) {
    throw new TypeError(`${who}: FIXED_DELAY needs an interval (a cron job runs at each match, skipping matches while it still runs)`)
  }
  if (name !== undefined) checkIdString(name, 'name', who)
  if (enabled !== undefined && typeof enabled !== 'boolean') throw new TypeError(`${who}: enabled must be a boolean`)
}

/**
 * Runs a module method on a schedule (nebula-engine's `@Schedule`), on one
 * node at a time: `@Schedule({ interval: 5000 })`, `@Schedule({ cron: "0 * * * *" })`.
 */
function Schedule(options) {
  checkScheduleOptions(options, '@Schedule')
  return Handler({ type: 'schedule', options: { ...options, mode: options.mode ?? ScheduleMode.FIXED_RATE } })
}

function timer(fn, ms) {
  const t = setTimeout(fn, Math.max(0, Math.min(ms, MAX_DELAY)))
  // The engine's server keeps the process alive; a schedule alone never does.
  t.unref()
  return t
}

class SchedulePlugin {
  /** @param {import('../../index').SchedulePluginOptions} [options] */
  constructor(options = {}) {
    const who = 'SchedulePlugin'
    if (!isPlainObject(options)) throw new TypeError(`${who}: options must be an object`)
    checkKeys(options, ['coordinator', 'leaseTtlMs', 'nodeId'], who)
    const leaseTtlMs = options.leaseTtlMs ?? 10_000
    checkMs(leaseTtlMs, 'leaseTtlMs', 30, who)
    const nodeId = options.nodeId ?? defaultNodeId()
    checkIdString(nodeId, 'nodeId', who)
    this.name = /** @type {const} */ ('schedule-plugin')
    this.priority = PluginPriority.BUSINESS
    this.nodeId = nodeId
    this.leaseTtlMs = leaseTtlMs
    /** Renew / acquire period; remote operations are bounded by it (at most 1 s). */
    this._period = Math.floor(leaseTtlMs / 3)
    this._coord = createCoordinator(options.coordinator, who, Math.min(1000, this._period))
    this.options = Object.freeze({ coordinator: this._coord.options, leaseTtlMs, nodeId })
    this._jobs = []
    this._modules = new Map()
    this._engine = undefined
    this._state = 'idle' // idle → running → stopped
    this._coordDown = false
  }

  onInit(engine) {
    this._engine = engine
  }

  onModuleLoad(modules) {
    this._modules = new Map(modules.map((m) => [m.clazz, m]))
  }

  onHandlerLoad(handlers) {
    this._jobs = []
    const names = new Map()
    for (const h of handlers) {
      if (h.type !== 'schedule') continue
      const where = `${h.module.name}.${String(h.methodName)}`
      const opts = h.options || {}
      checkScheduleOptions(opts, `@Schedule on ${where}`)
      if (opts.enabled === false) continue
      const mod = this._modules.get(h.module)
      const name = opts.name ?? `${mod ? mod.name : h.module.name}.${String(h.methodName)}`
      if (names.has(name)) {
        throw new TypeError(`@Schedule: two jobs are named ${JSON.stringify(name)} (${names.get(name)} and ${where}); give them distinct names`)
      }
      names.set(name, where)
      this._jobs.push({
        name,
        key: `schedule:${name}`,
        clazz: h.module,
        methodName: h.methodName,
        interval: opts.interval,
        cron: opts.cron,
        mode: opts.cron ? ScheduleMode.FIXED_RATE : (opts.mode ?? ScheduleMode.FIXED_RATE),
        leader: false,
        /** We held the lease when the coordinator failed: it may still be ours. */
        mayHold: false,
        leaseUntil: 0,
        leaseOp: null,
        leaseTimer: undefined,
        runTimer: undefined,
        /** Bumped whenever leadership changes: stale timers see it and stop. */
        gen: 0,
        running: null,
        runs: 0,
        skipped: 0,
        errors: 0,
        lastRunAt: null,
        lastError: null,
        nextRunAt: null,
      })
    }
  }

  /** Jobs start with the engine: every node campaigns for every job. */
  onAfterStart() {
    if (this._state !== 'idle') return
    this._state = 'running'
    for (const job of this._jobs) this._leaseLoop(job)
  }

  /** Stops the timers, lets runs in flight finish, then releases the leases (so another node takes over at once). */
  async onDestroy() {
    if (this._state === 'stopped') return
    this._state = 'stopped'
    for (const job of this._jobs) {
      clearTimeout(job.leaseTimer)
      clearTimeout(job.runTimer)
      job.gen++
      job.nextRunAt = null
    }
    await Promise.all(this._jobs.map((j) => j.leaseOp).filter(Boolean))
    // Releasing a job while it still runs would let another node start it alongside.
    const running = this._jobs.map((j) => j.running).filter(Boolean)
    if (running.length > 0) {
      const bound = this._engine?.options.shutdownTimeout || 30_000
      await withinLimit(() => Promise.allSettled(running), bound)
    }
    await Promise.all(
      this._jobs.map(async (job) => {
        const held = job.leader || job.mayHold
        job.leader = false
        job.mayHold = false
        job.leaseUntil = 0
        if (!held) return
        if (job.running) {
          console.warn(`[nebula] SchedulePlugin: job ${job.name} still runs after stop; its lease is left to expire`)
          return
        }
        await this._coord.native.release(job.key, this.nodeId).catch((err) => {
          console.warn(`[nebula] SchedulePlugin: could not release the lease of job ${job.name}: ${err.message}`)
        })
      }),
    )
    this._coord.native.close()
  }

  /** What each job does on this node. */
  jobs() {
    return this._jobs.map((j) => ({
      name: j.name,
      mode: j.mode,
      interval: j.interval ?? null,
      cron: j.cron ?? null,
      leader: this._holds(j),
      running: j.running !== null,
      runs: j.runs,
      skipped: j.skipped,
      errors: j.errors,
      lastRunAt: j.lastRunAt,
      lastError: j.lastError,
      nextRunAt: j.nextRunAt,
    }))
  }

  // ---- leases ------------------------------------------------------------------------

  _holds(job) {
    return job.leader && performance.now() < job.leaseUntil
  }

  /** Renew (holder) or acquire (everyone else), then again ttl/3 after this one started. */
  _leaseLoop(job) {
    if (this._state !== 'running') return
    const started = performance.now()
    const wasLeader = job.leader
    job.leaseOp = this._leaseStep(job)
      .then(
        (held) => {
          this._coordAnswered()
          // The lease runs from when the coordinator got the request, at the latest: count from before it.
          job.leaseUntil = held ? started + this.leaseTtlMs : 0
          if (wasLeader && !held) console.warn(`[nebula] SchedulePlugin: node ${this.nodeId} lost the lease of job ${job.name}`)
          this._setLeader(job, held)
        },
        (err) => {
          this._coordFailed(err)
          job.mayHold = job.mayHold || job.leader
          job.leaseUntil = 0
          this._setLeader(job, false)
        },
      )
      .finally(() => {
        job.leaseOp = null
        if (this._state !== 'running') return
        job.leaseTimer = timer(() => this._leaseLoop(job), started + this._period - performance.now())
      })
  }

  async _leaseStep(job) {
    const coord = this._coord.native
    if (job.leader || job.mayHold) {
      if (await coord.renew(job.key, this.nodeId, this.leaseTtlMs)) return true
      job.mayHold = false
    }
    return coord.acquire(job.key, this.nodeId, this.leaseTtlMs)
  }

  _coordFailed(err) {
    if (this._coordDown) return
    this._coordDown = true
    console.warn(`[nebula] SchedulePlugin: the coordinator failed (${err.message}); node ${this.nodeId} runs no job until it answers`)
  }

  _coordAnswered() {
    if (!this._coordDown) return
    this._coordDown = false
    console.warn(`[nebula] SchedulePlugin: the coordinator answers again`)
  }

  _setLeader(job, on) {
    if (job.leader === on) return
    job.leader = on
    job.gen++
    clearTimeout(job.runTimer)
    job.runTimer = undefined
    job.nextRunAt = null
    if (on && this._state === 'running') this._startRuns(job)
  }

  // ---- runs ----------------------------------------------------------------------------

  _startRuns(job) {
    const gen = job.gen
    if (job.cron) this._nextCron(job, gen, Date.now())
    else if (job.mode === ScheduleMode.FIXED_DELAY) this._delayed(job, gen, 0)
    else this._rate(job, gen, performance.now())
  }

  /** FIXED_RATE: tick k at t0 + k × interval from when the lease was taken; a tick while the last run goes on is skipped. */
  _rate(job, gen, t0, last = 0) {
    const now = performance.now()
    // A late timer does not make up the ticks it missed (never the same tick twice).
    const k = Math.max(last + 1, Math.floor((now - t0) / job.interval) + 1)
    const due = t0 + k * job.interval
    job.nextRunAt = Date.now() + Math.round(due - now)
    const tick = () => {
      if (job.gen !== gen) return
      // A timer may fire early (libuv counts from its loop time, which can lag the clock by a few ms):
      // wait out the rest, so a run never starts before its tick.
      const early = due - performance.now()
      if (early > 0) {
        job.runTimer = timer(tick, early)
        return
      }
      this._fire(job)
      this._rate(job, gen, t0, k)
    }
    job.runTimer = timer(tick, due - now)
  }

  /** FIXED_DELAY: the next run starts `interval` after the last one finished (the first at once). */
  _delayed(job, gen, delay) {
    job.nextRunAt = Date.now() + delay
    job.runTimer = timer(async () => {
      if (job.gen !== gen) return
      // A run from an earlier leadership may still go on: never two at once.
      if (job.running) await job.running
      if (job.gen !== gen) return
      if (this._holds(job)) await this._run(job)
      if (job.gen !== gen || this._state !== 'running') return
      this._delayed(job, gen, job.interval)
    }, delay)
  }

  /** Cron: at each match (UTC) after `after`; a match while the last run goes on is skipped. */
  _nextCron(job, gen, after) {
    const next = binding.cronNext(job.cron, after)
    job.nextRunAt = next
    job.runTimer = timer(() => {
      if (job.gen !== gen) return
      const now = Date.now()
      // Timers may fire a little early, and long waits are cut at setTimeout's limit.
      if (now < next) return this._nextCron(job, gen, now)
      this._fire(job)
      this._nextCron(job, gen, Math.max(now, next))
    }, next - Date.now())
  }

  _fire(job) {
    if (!this._holds(job)) return
    if (job.running) {
      job.skipped++
      return
    }
    this._run(job)
  }

  /** One run through the method's whole wrap chain; an error is logged and counted. */
  _run(job) {
    job.runs++
    job.lastRunAt = Date.now()
    const instance = this._engine.get(job.clazz)
    const run = (async () => {
      // The method starts once `running` is set (a synchronous throw included).
      await undefined
      try {
        await instance[job.methodName]()
      } catch (err) {
        job.errors++
        // Whatever the job threw (a null-prototype object, a revoked Proxy…): never a rejection here.
        job.lastError = messageOf(err)
        logError(`[nebula] SchedulePlugin: job ${job.name} failed:`, err)
      }
    })()
    job.running = run
    run.then(() => {
      if (job.running === run) job.running = null
    })
    return run
  }
}

module.exports = { SchedulePlugin, Schedule, ScheduleMode }
