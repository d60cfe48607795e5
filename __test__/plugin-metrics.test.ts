// MetricsPlugin: Prometheus text exposition at GET /metrics, answered in Rust.
import { describe, it, expect } from 'vitest'
import { Testing, RoutePlugin, Route, PluginPriority, HttpError, ModuleConfigValidationError, type Context } from '../index.js'
import { MetricsPlugin } from '../lib/plugins/metrics.js'

type Sample = { name: string; labels: Record<string, string>; value: number }

/** Parses the text format: `name{a="b",…} value` lines; comments kept apart. */
function parse(text: string) {
  const samples: Sample[] = []
  const comments: string[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      comments.push(line)
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy
    let l: RegExpExecArray | null
    const body = m[2] ?? ''
    let end = 0
    while ((l = re.exec(body))) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c))
      end = re.lastIndex
    }
    if (end !== body.length) throw new Error(`bad labels: ${line}`)
    const value = m[3] === '+Inf' ? Infinity : Number(m[3])
    if (Number.isNaN(value)) throw new Error(`bad value: ${line}`)
    samples.push({ name: m[1], labels, value })
  }
  return { samples, comments }
}

function find(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const found = find(samples, name, labels)
  if (found.length !== 1) throw new Error(`${found.length} samples for ${name} ${JSON.stringify(labels)}`)
  return found[0].value
}

async function scrape(engine: any, path = '/metrics') {
  const res = await engine.request(path)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parse(await res.text())
}

function setup(options?: ConstructorParameters<typeof MetricsPlugin>[0]) {
  const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), new MetricsPlugin(options)] })
  let release: () => void = () => {}
  let entered: () => void = () => {}
  const slowEntered = new Promise<void>((r) => (entered = r))
  const slowReleased = new Promise<void>((r) => (release = r))
  @Module('users', { routePrefix: '/api/users' })
  class Users {
    @Route({ path: '/:id' })
    get(ctx: Context) {
      return { id: ctx.req.param('id') }
    }
    @Route({ method: 'POST', path: '/' })
    create(ctx: Context) {
      return ctx.json({ ok: true }, 201)
    }
    @Route({ path: '/:id/missing' })
    missing() {
      throw new HttpError(404, 'gone')
    }
    @Route({ path: '/:id/boom' })
    boom() {
      throw new Error('boom')
    }
    @Route({ path: '/:id/slow' })
    async slow() {
      entered()
      await slowReleased
      return 'slow'
    }
    @Route({ path: '/:id/quiet', metrics: false })
    quiet() {
      return 'quiet'
    }
  }
  void Users
  return { engine, release, slowEntered }
}

describe('MetricsPlugin', () => {
  it('counts requests by method, route and status and times them in a histogram', async () => {
    const { engine } = setup()
    const port = await engine.start(0)
    try {
      const base = `http://127.0.0.1:${port}/api/users`
      expect((await fetch(`${base}/1`)).status).toBe(200)
      expect((await fetch(`${base}/2`)).status).toBe(200)
      expect((await engine.request('/api/users/3')).status).toBe(200)
      expect((await fetch(base, { method: 'POST' })).status).toBe(201)
      expect((await engine.request('/api/users/1/missing')).status).toBe(404)
      expect((await fetch(`${base}/1/boom`)).status).toBe(500)
      expect((await engine.request('/api/users/1/quiet')).status).toBe(200)
      expect((await engine.request('/nowhere')).status).toBe(404)

      const res = await fetch(`http://127.0.0.1:${port}/metrics`)
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      const { samples, comments } = parse(await res.text())

      const total = 'nebula_http_requests_total'
      expect(comments).toContain(`# TYPE ${total} counter`)
      expect(comments.some((c) => c.startsWith(`# HELP ${total} `))).toBe(true)
      expect(value(samples, total, { method: 'GET', route: '/api/users/:id', status: '200' })).toBe(3)
      expect(value(samples, total, { method: 'POST', route: '/api/users', status: '201' })).toBe(1)
      expect(value(samples, total, { method: 'GET', route: '/api/users/:id/missing', status: '404' })).toBe(1)
      expect(value(samples, total, { method: 'GET', route: '/api/users/:id/boom', status: '500' })).toBe(1)
      // Not measured: `metrics: false`, and requests no handler answered.
      expect(find(samples, total, { route: '/api/users/:id/quiet' })).toEqual([])
      expect(find(samples, total).reduce((n, s) => n + s.value, 0)).toBe(6)

      const h = 'nebula_http_request_duration_seconds'
      expect(comments).toContain(`# TYPE ${h} histogram`)
      const users = { method: 'GET', route: '/api/users/:id' }
      const buckets = find(samples, `${h}_bucket`, users)
      expect(buckets.map((b) => b.labels.le)).toEqual(['0.001', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'])
      for (let i = 1; i < buckets.length; i++) expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value)
      expect(buckets[buckets.length - 1].value).toBe(3)
      expect(value(samples, `${h}_count`, users)).toBe(3)
      expect(value(samples, `${h}_sum`, users)).toBeGreaterThan(0)
      expect(value(samples, `${h}_count`, { method: 'GET', route: '/api/users/:id/boom' })).toBe(1)
    } finally {
      await engine.stop()
    }
  })

  it('reports JavaScript calls and requests in flight, and answers in Rust', async () => {
    const { engine, release, slowEntered } = setup()
    await engine.request('/api/users/1')
    await engine.request('/api/users/2')
    const first = (await scrape(engine)).samples
    const js = engine.stats().jsCalls
    expect(js).toBe(2)
    expect(value(first, 'nebula_js_calls_total')).toBe(js)
    // Scraping never enters JavaScript.
    const again = (await scrape(engine)).samples
    expect(value(again, 'nebula_js_calls_total')).toBe(js)
    expect(engine.stats().jsCalls).toBe(js)
    expect(value(again, 'nebula_requests_received_total')).toBeGreaterThan(value(first, 'nebula_requests_received_total'))

    const idle = value(again, 'nebula_requests_in_flight')
    const slow = engine.request('/api/users/1/slow')
    await slowEntered
    const busy = value((await scrape(engine)).samples, 'nebula_requests_in_flight')
    expect(busy - idle).toBe(1)
    release()
    expect(await (await slow).text()).toBe('slow')
    expect(value((await scrape(engine)).samples, 'nebula_requests_in_flight')).toBe(idle)
  })

  it('puts a slow answer in the right bucket', async () => {
    const { Module, engine } = Testing.createTestEngine({
      plugins: [new RoutePlugin(), new MetricsPlugin({ buckets: [0.001, 0.025, 60] })],
    })
    @Module('t')
    class T {
      @Route({ path: '/wait' })
      async wait() {
        await new Promise((r) => setTimeout(r, 30))
        return 'done'
      }
    }
    void T
    await engine.request('/wait')
    const { samples } = await scrape(engine)
    const l = { route: '/wait' }
    const h = 'nebula_http_request_duration_seconds'
    expect(value(samples, `${h}_bucket`, { ...l, le: '0.001' })).toBe(0)
    expect(value(samples, `${h}_bucket`, { ...l, le: '0.025' })).toBe(0)
    expect(value(samples, `${h}_bucket`, { ...l, le: '60' })).toBe(1)
    expect(value(samples, `${h}_bucket`, { ...l, le: '+Inf' })).toBe(1)
    expect(value(samples, `${h}_sum`, l)).toBeGreaterThanOrEqual(0.025)
  })

  it('takes a path, a prefix and buckets', async () => {
    const { engine } = setup({ path: '/_/prom', prefix: 'app_', buckets: [0.5, 2] })
    await engine.request('/api/users/1')
    expect((await engine.request('/metrics')).status).toBe(404)
    const { samples } = await scrape(engine, '/_/prom')
    expect(value(samples, 'app_http_requests_total', { route: '/api/users/:id', status: '200' })).toBe(1)
    expect(find(samples, 'app_http_request_duration_seconds_bucket').map((s) => s.labels.le)).toEqual(['0.5', '2', '+Inf'])
    expect(find(samples, 'app_js_calls_total')).toHaveLength(1)
    expect(samples.every((s) => s.name.startsWith('app_'))).toBe(true)
  })

  it('validates its options eagerly and module/route options at load', async () => {
    expect(() => new MetricsPlugin({ path: 'metrics' })).toThrow(/path/)
    expect(() => new MetricsPlugin({ prefix: '1x' })).toThrow(/prefix/)
    expect(() => new MetricsPlugin({ buckets: [] })).toThrow(/buckets/)
    expect(() => new MetricsPlugin({ buckets: [1, 0.5] })).toThrow(/buckets/)
    expect(() => new MetricsPlugin({ buckets: [Infinity] })).toThrow(/buckets/)
    const p = new MetricsPlugin()
    expect(p.name).toBe('metrics')
    expect(p.priority).toBe(PluginPriority.SYSTEM)
    expect(p.options.path).toBe('/metrics')

    const { Module, engine } = Testing.createTestEngine({ plugins: [new RoutePlugin(), new MetricsPlugin()] })
    @Module('bad', { metrics: 'yes' })
    class Bad {}
    void Bad
    await expect(engine.request('/metrics')).rejects.toBeInstanceOf(ModuleConfigValidationError)
  })
})
