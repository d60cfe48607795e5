// Adversarial: request paths through the gateway. A service exposed only
// under /pub/* must never answer for a file outside /pub, whatever dot
// segments or encodings the path carries: the path is normalized before it
// is matched, and what is forwarded is exactly what was matched. The worker
// is Python's own static file server (it decodes and normalizes paths, as
// most servers do), serving a directory with pub/ and admin/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import { ServicesPlugin } from '../../index.js'
import { setup, listen, stopAll, rawRequest } from '../helpers/http'
import { eventually } from '../helpers/wait'

const workers = path.join(__dirname, '..', 'fixtures', 'workers')
const FILES = ['python3', path.join(workers, 'files.py')]
const ECHO = ['python3', path.join(workers, 'echo.py')]
const SECRET = 'ADMIN-ONLY SECRET'
const PUBLIC = 'public hello'

let root: string
let port: number

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'nbgw-path-'))
  fs.mkdirSync(path.join(root, 'pub'))
  fs.mkdirSync(path.join(root, 'admin'))
  fs.writeFileSync(path.join(root, 'pub', 'hello.txt'), PUBLIC)
  fs.writeFileSync(path.join(root, 'admin', 'secret.txt'), SECRET)
  const plugin = new ServicesPlugin({
    runtimeDir: fs.mkdtempSync(path.join(os.tmpdir(), 'nbgw-')),
    services: [
      { name: 'files', command: FILES, cwd: root, routes: ['/pub/*'] },
      { name: 'echo', command: ECHO, routes: ['/echo/*'] },
    ],
  })
  const { engine } = setup({ plugins: [plugin] })
  ;({ port } = await listen(engine))
  for (const name of ['files', 'echo']) {
    await eventually(`${name} ready`, () => plugin.status().services.find((s: any) => s.name === name)!.ready >= 1)
  }
}, 20_000)

// One engine and one pair of workers for every case (starting Python
// workers per case would be slow); stopped once, here.
afterAll(async () => {
  await stopAll()
  fs.rmSync(root, { recursive: true, force: true })
})

describe('gateway: a service exposed only under /pub/* never serves what is outside it', () => {
  it('control: /pub/hello.txt is served, and the admin file exists behind the worker', async () => {
    const res = await rawRequest(port, 'GET', '/pub/hello.txt')
    expect(res.status).toBe(200)
    expect(res.text).toBe(PUBLIC)
    expect(fs.readFileSync(path.join(root, 'admin', 'secret.txt'), 'utf8')).toBe(SECRET)
  })

  // Normalized to /admin/secret.txt, which no route exposes: 404.
  for (const target of [
    '/pub/../admin/secret.txt',
    '/pub/%2e%2e/admin/secret.txt',
    '/pub/%2E%2E/admin/secret.txt',
    '/pub/.%2e/admin/secret.txt',
    '/pub/%2e./admin/secret.txt',
    '/pub/x/../../admin/secret.txt',
    '/pub/./../admin/secret.txt',
  ]) {
    it(`dot segments: ${target} → 404, not the admin file`, async () => {
      const res = await rawRequest(port, 'GET', target)
      expect(res.status).toBe(404)
      expect(res.text).not.toContain(SECRET)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
    })
  }

  // A `..` behind an encoded slash or a backslash: the worker would decode
  // and normalize it, so it is refused outright.
  for (const target of [
    '/pub/..%2Fadmin/secret.txt',
    '/pub/..%2fadmin/secret.txt',
    '/pub/%2e%2e%2Fadmin/secret.txt',
    '/pub/x%2F..%2F..%2Fadmin/secret.txt',
    '/pub/..%5Cadmin/secret.txt',
    '/pub/..\\admin/secret.txt',
  ]) {
    it(`hidden dot segment: ${target} → 400 JSON, not the admin file`, async () => {
      const res = await rawRequest(port, 'GET', target)
      expect(res.status).toBe(400)
      expect(res.text).not.toContain(SECRET)
      expect(JSON.parse(res.text).message).toMatch(/hidden behind an encoded slash/)
    })
  }

  it('climbing above the root: /../admin/secret.txt → 400 JSON', async () => {
    const res = await rawRequest(port, 'GET', '/../admin/secret.txt')
    expect(res.status).toBe(400)
    expect(JSON.parse(res.text)).toEqual({ error: 'Bad Request', message: expect.stringMatching(/climbs above the root/) })
  })

  it('climbing above the root inside the prefix: /pub/../../admin/secret.txt → 400 JSON', async () => {
    const res = await rawRequest(port, 'GET', '/pub/../../admin/secret.txt')
    expect(res.status).toBe(400)
    expect(res.text).not.toContain(SECRET)
  })

  it('a dot segment that stays inside the prefix is served from its normalized path', async () => {
    const res = await rawRequest(port, 'GET', '/pub/x/../%68ello.txt')
    expect(res.status).toBe(200)
    expect(res.text).toBe(PUBLIC)
  })

  it('what is forwarded is exactly what was matched: normalized path, %2F kept encoded, query untouched', async () => {
    const res = await rawRequest(port, 'GET', '/echo/a/./b/../%63/x%2fy?q=/../%2e%2e')
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text).path).toBe('/echo/a/c/x%2Fy?q=/../%2e%2e')
  })

  it('a path normalized out of the prefix is not forwarded: /echo/../pub/hello.txt goes to the files service', async () => {
    const res = await rawRequest(port, 'GET', '/echo/../pub/hello.txt')
    expect(res.status).toBe(200)
    expect(res.text).toBe(PUBLIC)
  })
})
