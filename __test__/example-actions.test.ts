// Keeps examples/actions runnable: starts it as its header says (tsx) and talks to it: an action over GET and
// POST (EJSON), a streamed one, the generated client it serves and writes, and its OpenAPI document and page.
import fs from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { root, startExample } from './helpers/example'

describe('examples/actions', () => {
  it('serves its actions, a stream and the generated client', async () => {
    const { child, port: listening, exited } = startExample('actions', /todos on http:\/\/localhost:(\d+)/)
    try {
      const port = await listening
      const api = `http://127.0.0.1:${port}/api/todo-service`
      const added = await (await fetch(`${api}/add?0=milk`)).json()
      expect(added).toMatchObject({ success: true, data: { id: 1, title: 'milk', done: false } })
      const listed = await (await fetch(`${api}/list`, { method: 'POST', body: '{}' })).json()
      expect(listed.success).toBe(true)
      expect(listed.data).toHaveLength(1)
      const refused = await fetch(`${api}/add?0=`)
      expect(refused.status).toBe(400)
      expect((await refused.json()).success).toBe(false)
      const stream = await fetch(`${api}/watch`, { method: 'POST', body: '{"0": 1}' })
      expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/)
      expect(await stream.text()).toMatch(/"value":1/)
      const client = await (await fetch(`http://127.0.0.1:${port}/api/client.ts`)).text()
      expect(client).toMatch(/todoService/)
      expect(fs.readFileSync(join(root, 'examples/actions/generated/client.ts'), 'utf8')).toBe(client)
      const doc = await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()
      expect(doc.openapi).toMatch(/^3\.1/)
      expect(Object.keys(doc.paths)).toContain('/api/todo-service/add')
      expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBe(200)
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  })
})
