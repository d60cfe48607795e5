// SchedulePlugin: FIXED_RATE / FIXED_DELAY timing, cron validation, errors,
// stop(), the wrap chain, a lease handed over on stop; then the distributed
// part: three engine processes on Redis and on NATS, one runs the job, and
// kill -9 of that one moves the job to another within leaseTtl + renew period.
import { describe, it, expect, afterEach, afterAll, beforeAll, vi } from 'vitest'
import { performance } from 'node:perf_hooks'
import { Testing, PluginPriority, SchedulePlugin, Schedule, ScheduleMode, ConcurrencyLockPlugin, ConcurrencyLock } from '../index.js'
import { natsMissing, redisMissing, startNats, startRedis, type TestServer } from './helpers/servers'
import { cluster, recorder, sleep, until } from './helpers/schedule'

const engines: any[] = []
let jobSeq = 0
/** A job name of its own per test: the local coordinator's table is process-wide. */
const jobName = () => `test-job-${++jobSeq}`

afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

function setup(plugin: any, extra: any[] = []) {
  const { Module, engine } = Testing.createTestEngine({ plugins: [plugin, ...extra] })
  engines.push(engine)
  return { Module, engine, plugin }
}

describe('SchedulePlugin on one node', () => {
  it('FIXED_RATE fires every interval and skips (and counts) ticks while the last run is still going', async () => {
    const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: 300 }))
    const rec = recorder()
    const name = jobName()
    @Module('jobs')
    class Jobs {
      @Schedule({ interval: 40, mode: ScheduleMode.FIXED_RATE, name })
      async slow() {
        const done = rec.begin()
        await sleep(100)
        done()
      }
    }
    await engine.start(0)
    await rec.finished(3)
    const [job] = plugin.jobs()
    expect(rec.maxActive).toBe(1)
    // Each 100 ms run spans two more 40 ms ticks: they were skipped, not queued.
    expect(job.skipped).toBeGreaterThanOrEqual(2 * (rec.runs.length - 1))
    for (let i = 1; i < rec.runs.length; i++) expect(rec.runs[i].start).toBeGreaterThanOrEqual(rec.runs[i - 1].end! - 1)
    expect(job).toMatchObject({ name, mode: 'FIXED_RATE', interval: 40, leader: true, errors: 0 })
    expect(job.runs).toBe(rec.runs.length)
    expect(Jobs).toBeDefined()
  })

  it('FIXED_RATE keeps its rate with a quick job (no skips)', async () => {
    const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: 300 }))
    const rec = recorder()
    @Module('jobs')
    class Jobs {
      @Schedule({ interval: 30, name: jobName() })
      quick() {
        rec.begin()()
      }
    }
    const before = performance.now()
    await engine.start(0)
    await rec.finished(5)
    // On the grid t0 + k × interval (k ≥ 1), t0 being when the lease was taken, after `before`: a late tick does
    // not shift the later ones, so run i never starts before i + 1 intervals after `before`. Measured from `before`,
    // not from the first run: that one may itself be late (10 ms once, with both vitest pools and cargo test on two
    // cores). A timer that fired early (28.9 ms after `before` once in CI: libuv's loop time lags the clock) waits out
    // the rest of its tick, so no tolerance is needed (1 ms is left for the rounding of performance.now()).
    for (let i = 0; i < rec.runs.length; i++) expect(rec.runs[i].start - before).toBeGreaterThanOrEqual((i + 1) * 30 - 1)
    expect(plugin.jobs()[0].skipped).toBe(0)
    expect(Jobs).toBeDefined()
  })

  it('FIXED_DELAY starts the next run one interval after the last one finished, never overlapping', async () => {
    const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: 300 }))
    const rec = recorder()
    @Module('jobs')
    class Jobs {
      @Schedule({ interval: 40, mode: ScheduleMode.FIXED_DELAY, name: jobName() })
      async slow() {
        const done = rec.begin()
        await sleep(60)
        done()
      }
    }
    await engine.start(0)
    await rec.finished(4)
    expect(rec.maxActive).toBe(1)
    for (let i = 1; i < rec.runs.length; i++) {
      const gap = rec.runs[i].start - rec.runs[i - 1].end!
      expect(gap).toBeGreaterThanOrEqual(35)
    }
    expect(plugin.jobs()[0]).toMatchObject({ mode: 'FIXED_DELAY', skipped: 0, errors: 0 })
    expect(Jobs).toBeDefined()
  })

  it('validates interval / cron / mode at decoration, and schedules a cron job at its next match (UTC)', async () => {
    expect(() => Schedule({} as any)).toThrow(/exactly one of interval .* or cron/)
    expect(() => Schedule({ interval: 1000, cron: '* * * * *' })).toThrow(/exactly one/)
    expect(() => Schedule({ interval: 0 })).toThrow(TypeError)
    expect(() => Schedule({ interval: 1.5 })).toThrow(/interval must be an integer/)
    expect(() => Schedule({ cron: 'every minute' })).toThrow(/invalid cron expression "every minute"/)
    expect(() => Schedule({ cron: '0 */5 * * * *' })).toThrow(/5 fields/)
    expect(() => Schedule({ cron: '61 * * * *' })).toThrow(/invalid cron expression/)
    expect(() => Schedule({ cron: '* * * * *', mode: ScheduleMode.FIXED_DELAY })).toThrow(/FIXED_DELAY needs an interval/)
    expect(() => Schedule({ interval: 10, mode: 'SOMETIMES' as any })).toThrow(/mode must be/)
    expect(() => Schedule({ interval: 10, every: 3 } as any)).toThrow(/unknown option "every"/)

    const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: 300 }))
    @Module('reports')
    class Reports {
      @Schedule({ cron: '*/5 * * * *' })
      build() {}

      @Schedule({ interval: 10, enabled: false })
      off() {}
    }
    await engine.start(0)
    await until(() => plugin.jobs()[0].leader, 3000, 'the lease')
    const jobs = plugin.jobs()
    expect(jobs.map((j: any) => j.name)).toEqual(['reports.build'])
    const next = jobs[0].nextRunAt
    expect(next % 300_000).toBe(0)
    expect(next - Date.now()).toBeGreaterThan(0)
    expect(next - Date.now()).toBeLessThanOrEqual(300_000)
    expect(jobs[0]).toMatchObject({ cron: '*/5 * * * *', interval: null, runs: 0 })
    expect(Reports).toBeDefined()
  })

  it('logs a job that throws and keeps its schedule', async () => {
    const errors: unknown[][] = []
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a))
    const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: 300 }))
    const rec = recorder()
    @Module('jobs')
    class Jobs {
      @Schedule({ interval: 20, name: 'throwing-job' })
      fails() {
        rec.begin()()
        throw new Error(`boom ${rec.runs.length}`)
      }
    }
    await engine.start(0)
    await rec.finished(3)
    await until(() => plugin.jobs()[0].errors >= 3, 1000, 'three errors')
    const [job] = plugin.jobs()
    expect(job.lastError).toMatch(/^boom \d+$/)
    expect(errors.length).toBeGreaterThanOrEqual(3)
    expect(String(errors[0][0])).toContain('job throwing-job failed')
    expect(Jobs).toBeDefined()
  })

  it('stops with the engine: no run after stop(), the lease is released', async () => {
    const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: 300 }))
    const rec = recorder()
    @Module('jobs')
    class Jobs {
      @Schedule({ interval: 20, name: jobName() })
      tick() {
        rec.begin()()
      }
    }
    await engine.start(0)
    await rec.finished(2)
    await engine.stop()
    const runs = rec.runs.length
    expect(plugin.jobs()[0]).toMatchObject({ leader: false, nextRunAt: null, runs })
    // Nothing to await: the absence of runs needs some time to pass.
    await sleep(100)
    expect(rec.runs.length).toBe(runs)
    expect(Jobs).toBeDefined()
  })

  it('runs the method through its whole wrap chain, on the engine instance', async () => {
    const seen: string[] = []
    const tracer = {
      name: 'tracer',
      priority: PluginPriority.LOGGING,
      onHandlerLoad(handlers: any[]) {
        for (const h of handlers.filter((h) => h.type === 'schedule')) {
          h.wrap(async (next: () => Promise<unknown>) => {
            seen.push('before')
            const out = await next()
            seen.push(`after ${out}`)
            return out
          })
        }
      },
    }
    const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: 300 }), [tracer, new ConcurrencyLockPlugin()])
    @Module('jobs')
    class Jobs {
      count = 0
      @Schedule({ interval: 20, name: jobName() })
      @ConcurrencyLock({ key: 'jobs-lock' })
      tick() {
        seen.push('run')
        return ++this.count
      }
    }
    await engine.start(0)
    await until(() => seen.length >= 6, 3000, 'two runs')
    expect(seen.slice(0, 6)).toEqual(['before', 'run', 'after 1', 'before', 'run', 'after 2'])
    expect(engine.get(Jobs).count).toBeGreaterThanOrEqual(2)
    expect(plugin.jobs()[0].errors).toBe(0)
  })

  it('hands a job over at once when its leader stops (the lease is released, not left to expire)', async () => {
    const ttl = 3000
    const name = jobName()
    const make = (tag: string, log: string[]) => {
      const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: ttl, nodeId: tag }))
      @Module('jobs')
      class Jobs {
        @Schedule({ interval: 20, name })
        tick() {
          log.push(tag)
        }
      }
      return { engine, plugin, Jobs }
    }
    const log: string[] = []
    const a = make('a', log)
    const b = make('b', log)
    await a.engine.start(0)
    await until(() => a.plugin.jobs()[0].leader, 3000, 'a to lead')
    await b.engine.start(0)
    await until(() => log.length >= 5, 3000, 'runs')
    expect(new Set(log)).toEqual(new Set(['a']))
    expect(b.plugin.jobs()[0]).toMatchObject({ leader: false, runs: 0, nextRunAt: null })
    const stopped = performance.now()
    await a.engine.stop()
    await until(() => log.at(-1) === 'b', ttl, 'b to run')
    // b retries every ttl/3; without the release it would wait for the lease to expire (>= 2/3 ttl).
    expect(performance.now() - stopped).toBeLessThan(ttl * 0.6)
  })

  it('checks its options (errors name the option) and refuses two jobs with one name', async () => {
    expect(() => new SchedulePlugin({ coordinator: { type: 'etcd' } } as any)).toThrow(/SchedulePlugin: coordinator type must be/)
    expect(() => new SchedulePlugin({ coordinator: { type: 'redis' } } as any)).toThrow(/url is required/)
    expect(() => new SchedulePlugin({ coordinator: { type: 'redis', url: 'http://x' } } as any)).toThrow(/url/)
    expect(() => new SchedulePlugin({ coordinator: { type: 'nats', url: 'nats://x:1', bucket: 'a.b' } })).toThrow(/bucket/)
    expect(() => new SchedulePlugin({ leaseTtlMs: 10 })).toThrow(/leaseTtlMs must be an integer/)
    expect(() => new SchedulePlugin({ nodeId: '' })).toThrow(/nodeId/)
    expect(() => new SchedulePlugin({ ttl: 5 } as any)).toThrow(/unknown option "ttl"/)
    const plugin = new SchedulePlugin()
    expect(plugin).toMatchObject({ name: 'schedule-plugin', priority: 300, leaseTtlMs: 10_000 })
    expect(plugin.nodeId).toMatch(/:\d+:[0-9a-f]{8}$/)

    const { Module, engine } = setup(new SchedulePlugin())
    @Module('a')
    class A {
      @Schedule({ interval: 1000, name: 'same' })
      one() {}
      @Schedule({ interval: 1000, name: 'same' })
      two() {}
    }
    await expect(engine.start(0)).rejects.toThrow(/two jobs are named "same"/)
    expect(A).toBeDefined()
  })
})

// ---- distributed: three processes ------------------------------------------------------

const LEASE_TTL = 600
const PERIOD = LEASE_TTL / 3
const INTERVAL = 50
const timing = { leaseTtlMs: LEASE_TTL, intervalMs: INTERVAL }

function distributed(kind: 'redis' | 'nats', missing: string | undefined, start: () => Promise<TestServer>) {
  if (missing) console.log(`[plugin-schedule] skipping the ${kind} cluster test: ${missing}`)
  ;(missing ? describe.skip : describe)(`SchedulePlugin across three processes (${kind})`, () => {
    let server: TestServer
    beforeAll(async () => {
      server = await start()
    })
    afterAll(async () => {
      await server?.stop()
    })

    it('runs the job on one node; kill -9 of the leader moves it within leaseTtl + renew period; a stopped leader hands over at once', async () => {
      const c = cluster({ type: kind, url: server.url }, `cluster-${kind}`, timing)
      try {
        await c.until(() => c.ready.size === 3, 10_000, 'three ready nodes')
        await c.until(() => c.runs.length >= 10, 5000, 'ten runs')
        const leader = c.runs[0].node
        expect(
          c.runs.every((r) => r.node === leader),
          'one node runs the job',
        ).toBe(true)

        // kill -9: the lease is not released; it expires, then another node takes it.
        const victim = c.nodes.find((n) => n.id === leader)!
        victim.child.kill('SIGKILL')
        await victim.exited
        const killedAt = performance.now()
        const before = c.runs.length
        await c.until(() => c.runs.slice(before).some((r) => r.node !== leader), LEASE_TTL + PERIOD + 3000, 'run by another node')
        const takeover = c.runs.slice(before).find((r) => r.node !== leader)!
        const handover = takeover.at - killedAt
        expect(handover, 'the dead leader kept its lease until it expired').toBeGreaterThan(PERIOD - 50)
        expect(handover, 'taken over within leaseTtl + renew period (+ one interval, + slack)').toBeLessThan(LEASE_TTL + PERIOD + INTERVAL + 500)

        const second = takeover.node
        const from = c.runs.indexOf(takeover)
        await c.until(() => c.runs.length >= from + 8, 5000, 'eight runs by the new leader')
        expect(
          c.runs.slice(from).every((r) => r.node === second),
          'again one node runs it',
        ).toBe(true)

        // SIGTERM: engine.stop() releases the lease, the last node takes over well before it would expire,
        // and the stopped process exits by itself (no timer left behind).
        const leaving = c.nodes.find((n) => n.id === second)!
        leaving.child.kill('SIGTERM')
        await c.until(() => c.stopped.has(second), 5000, 'the stop')
        const stoppedAt = performance.now()
        const third = c.nodes.find((n) => n.id !== leader && n.id !== second)!.id
        const mark = c.runs.length
        await c.until(() => c.runs.slice(mark).some((r) => r.node === third), LEASE_TTL + PERIOD + 3000, 'the last node')
        expect(c.runs.find((r, i) => i >= mark && r.node === third)!.at - stoppedAt).toBeLessThan(LEASE_TTL)
        expect(await leaving.exited).toBe(0)
      } finally {
        c.kill()
      }
    })
  })
}

distributed('redis', redisMissing(), startRedis)
distributed('nats', natsMissing(), startNats)

// ---- the coordinator down -------------------------------------------------------------

const noRedis = redisMissing()
;(noRedis ? describe.skip : describe)('SchedulePlugin with Redis down', () => {
  it('runs nothing while Redis is unreachable (and says so), then takes the lease once it answers', async () => {
    const warnings: string[] = []
    vi.spyOn(console, 'warn').mockImplementation((m: unknown) => void warnings.push(String(m)))
    const redis = await startRedis()
    try {
      await redis.stop()
      const { Module, engine, plugin } = setup(new SchedulePlugin({ leaseTtlMs: 150, coordinator: { type: 'redis', url: redis.url } }))
      const rec = recorder()
      @Module('jobs')
      class Jobs {
        @Schedule({ interval: 10, name: jobName() })
        tick() {
          rec.begin()()
        }
      }
      await engine.start(0)
      await until(() => warnings.some((w) => w.includes('the coordinator failed')), 3000, 'the warning')
      expect(rec.runs.length).toBe(0)
      expect(plugin.jobs()[0].leader).toBe(false)
      await redis.start()
      await rec.finished(2)
      expect(plugin.jobs()[0].leader).toBe(true)
      expect(warnings.some((w) => w.includes('answers again'))).toBe(true)
      // Stopped while Redis is up: the lease is released without a warning.
      await engine.stop()
      expect(warnings.filter((w) => w.includes('could not release'))).toEqual([])
      expect(Jobs).toBeDefined()
    } finally {
      await redis.stop()
    }
  })
})
