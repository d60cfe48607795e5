import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Route } from '../index.js'
import { setup, listen, stopAll, rawRequest } from './helpers/http'

afterEach(stopAll)

// tmp/
//   secret.txt          ← outside every mount: must never be served
//   public/  (→ /assets)  style.css app.js index.html data.json logo.png .env sub/inner.txt
//   docs/    (→ /docs)    guide.txt
let tmp: string
let publicDir: string
let docsDir: string
const SECRET = 'TOP-SECRET-CONTENT'
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52])
const files: Record<string, string | Buffer> = {
  'style.css': 'body { color: red; }',
  'app.js': 'console.log("hi")',
  'index.html': '<!doctype html><p>home</p>',
  'data.json': '{"k":[1,2]}',
  'logo.png': PNG,
  '.env': `DB_PASSWORD=${SECRET}`,
  'sub/inner.txt': 'inner text',
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-static-'))
  publicDir = path.join(tmp, 'public')
  docsDir = path.join(tmp, 'docs')
  fs.mkdirSync(path.join(publicDir, 'sub'), { recursive: true })
  fs.mkdirSync(docsDir)
  fs.writeFileSync(path.join(tmp, 'secret.txt'), SECRET)
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(publicDir, name), content)
  fs.writeFileSync(path.join(docsDir, 'guide.txt'), 'the guide')
})

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true })
})

/** An engine with the /assets mount and one JS route (so JS calls are observable). */
function build(extra: Record<string, unknown> = {}) {
  const { Module, engine } = setup({ options: { static: { prefix: '/assets', path: publicDir }, ...extra } })
  @Module('m')
  class M {
    @Route({ path: '/api/ping' })
    ping() {
      return 'pong'
    }
  }
  return engine
}

describe('static files', () => {
  it('serves files with the right content type and exact bytes', async () => {
    const engine = build()
    const { base } = await listen(engine)
    const cases: [string, RegExp][] = [
      ['style.css', /^text\/css/],
      ['app.js', /^(text|application)\/javascript/],
      ['index.html', /^text\/html/],
      ['data.json', /^application\/json/],
      ['logo.png', /^image\/png$/],
    ]
    for (const [name, type] of cases) {
      const res = await fetch(`${base}/assets/${name}`)
      expect(res.status, name).toBe(200)
      expect(res.headers.get('content-type'), name).toMatch(type)
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(files[name])), name).toBe(true)
    }
    const nested = await fetch(`${base}/assets/sub/inner.txt`)
    expect(await nested.text()).toBe('inner text')
    expect(nested.headers.get('content-type')).toMatch(/^text\/plain/)
  })

  it('never calls into JS for static hits or misses', async () => {
    const engine = build()
    const { base } = await listen(engine)
    await (await fetch(`${base}/assets/style.css`)).arrayBuffer()
    await (await fetch(`${base}/assets/data.json`)).arrayBuffer()
    await (await fetch(`${base}/assets/missing.css`)).arrayBuffer()
    expect(engine.stats()).toMatchObject({ requests: 3, jsCalls: 0 })
    expect(await (await fetch(`${base}/api/ping`)).text()).toBe('pong')
    expect(engine.stats().jsCalls).toBe(1)
  })

  it('sends an ETag and answers If-None-Match with 304 and no body', async () => {
    const { base } = await listen(build())
    const first = await fetch(`${base}/assets/style.css`)
    await first.arrayBuffer()
    const etag = first.headers.get('etag')
    expect(etag).toBeTruthy()
    const again = await fetch(`${base}/assets/style.css`, { headers: { 'If-None-Match': etag! } })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
    const stale = await fetch(`${base}/assets/style.css`, { headers: { 'If-None-Match': '"not-the-etag"' } })
    expect(stale.status).toBe(200)
    expect(await stale.text()).toBe(files['style.css'])
  })

  it('changes the ETag when the file changes', async () => {
    const { base } = await listen(build())
    const file = path.join(publicDir, 'sub', 'inner.txt')
    const before = (await fetch(`${base}/assets/sub/inner.txt`)).headers.get('etag')
    fs.writeFileSync(file, 'inner text, edited')
    try {
      const res = await fetch(`${base}/assets/sub/inner.txt`)
      expect(await res.text()).toBe('inner text, edited')
      expect(res.headers.get('etag')).not.toBe(before)
    } finally {
      fs.writeFileSync(file, files['sub/inner.txt'])
    }
  })

  it('answers HEAD with the headers of GET and no body', async () => {
    const { port } = await listen(build())
    const res = await rawRequest(port, 'HEAD', '/assets/data.json')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(files['data.json'] as string))
    expect(res.headers.etag).toBeTruthy()
    expect(res.body.length).toBe(0)
  })

  it('answers a missing file under the mount with the 404 JSON', async () => {
    const { base } = await listen(build())
    const res = await fetch(`${base}/assets/nope.css`)
    expect(res.status).toBe(404)
    expect((await res.json()).error).toBe('Not Found')
  })

  it('serves several mounts from a list', async () => {
    const { base } = await listen(
      build({
        static: [
          { prefix: '/assets', path: publicDir },
          { prefix: '/docs', path: docsDir },
        ],
      }),
    )
    expect(await (await fetch(`${base}/assets/style.css`)).text()).toBe(files['style.css'])
    expect(await (await fetch(`${base}/docs/guide.txt`)).text()).toBe('the guide')
    expect((await fetch(`${base}/docs/style.css`)).status).toBe(404)
    expect((await fetch(`${base}/assets/guide.txt`)).status).toBe(404)
  })

  it('a route for another method under the mount does not hide static files', async () => {
    const { Module, engine } = setup({ options: { static: { prefix: '/assets', path: publicDir } } })
    @Module('m')
    class M {
      @Route({ method: 'POST', path: '/assets/*' })
      upload() {
        return 'uploaded'
      }
    }
    const { base } = await listen(engine)
    const res = await fetch(`${base}/assets/style.css`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(files['style.css'])
    expect(await (await fetch(`${base}/assets/x`, { method: 'POST' })).text()).toBe('uploaded')
    expect((await fetch(`${base}/assets/missing.css`)).status).toBe(405)
  })

  it('serves static files through in-process request() too', async () => {
    const engine = build()
    const res = await engine.request('/assets/style.css')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/css/)
    expect(await res.text()).toBe(files['style.css'])
    expect(engine.getPort()).toBe(0)
  })
})

describe('static path traversal (raw socket: the target is sent exactly as written)', () => {
  // Dot segments are removed before routing (so these fall outside the mount:
  // 404); a `..` hidden behind an encoded slash or a backslash is refused
  // before routing (400: a server behind a proxy may decode and follow it).
  const targets: [string, number][] = [
    ['/assets/../secret.txt', 404],
    ['/assets/sub/../../secret.txt', 404],
    ['/assets/%2e%2e/secret.txt', 404],
    ['/assets/%2E%2E/secret.txt', 404],
    ['/assets/.%2e/secret.txt', 404],
    ['/assets/..%2Fsecret.txt', 400],
    ['/assets/%2e%2e%2fsecret.txt', 400],
    ['/assets/sub%2F..%2F..%2Fsecret.txt', 400],
    ['/assets/..%5Csecret.txt', 400],
    ['/assets/%5c..%5csecret.txt', 400],
    ['/assets/..\\secret.txt', 400],
    ['/assets/sub\\..\\..\\secret.txt', 400],
    ['/assets/.env', 404],
    ['/assets/%2eenv', 404],
  ]

  for (const [target, status] of targets) {
    it(`refuses ${target} with ${status}`, async () => {
      const { port } = await listen(build())
      // Control: the same mount serves a legitimate file over the same kind of request.
      expect((await rawRequest(port, 'GET', '/assets/sub/inner.txt')).status).toBe(200)
      const res = await rawRequest(port, 'GET', target)
      expect(res.status).toBe(status)
      expect(res.text).not.toContain(SECRET)
    })
  }

  it('the secret really exists one level up (the traversal tests would catch a leak)', () => {
    expect(fs.readFileSync(path.join(publicDir, '..', 'secret.txt'), 'utf8')).toBe(SECRET)
    expect(fs.readFileSync(path.join(publicDir, '.env'), 'utf8')).toContain(SECRET)
  })
})
