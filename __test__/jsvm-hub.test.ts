// Hook scripts and the WebSocket hub: onWsConnect / onWsDisconnect /
// onWsMessage(type) run in QuickJS, `hub` sends from scripts, and a message
// whose hooks all call e.next() goes on to the TypeScript handler.
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { HubPlugin, JsvmPlugin } from '../index.js'
import { setup, listen, stopAll, deferred } from './helpers/http'
import { connect } from './helpers/ws'

const dirs: string[] = []
afterEach(async () => {
  await stopAll()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function hooksDir(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'nebula-ws-hooks-'))
  dirs.push(dir)
  for (const [name, code] of Object.entries(files)) writeFileSync(join(dir, name), code)
  return dir
}

async function app(files: Record<string, string>, { hub = true } = {}) {
  const dir = hooksDir(files)
  const hubPlugin = new HubPlugin({ allowAnonymous: true })
  const jsvm = new JsvmPlugin({ hooksDir: dir, poolSize: 2, timeoutMs: 300 })
  const { engine } = setup({ plugins: hub ? [hubPlugin, jsvm] : [jsvm] })
  const { port, base } = await listen(engine)
  return { engine, base, dir, ws: (q = '') => `ws://127.0.0.1:${port}/ws${q}` }
}

/** The next `name` events from scripts (events.emit), in order. */
function collect(engine: any, name: string, count: number) {
  const seen: any[] = []
  const done = deferred<any[]>()
  engine.jsvm.on(name, (data: any) => {
    seen.push(data)
    if (seen.length === count) done.resolve(seen)
  })
  return done.promise
}

describe('hub events in hook scripts', () => {
  it('onWsConnect and onWsDisconnect see the client; hooks run by priority', async () => {
    const { engine, ws } = await app({
      'ws.pb.js': `
        onWsConnect((e) => { events.emit('seen', { hook: 'connect-late', id: e.client.id }); return e.next() }, 10)
        onWsConnect((e) => { events.emit('seen', { hook: 'connect', id: e.client.id, anon: e.client.anonymous, seq: typeof e.client.seq }); return e.next() })
        onWsDisconnect((e) => events.emit('seen', { hook: 'disconnect', id: e.client.id, code: e.code }))
      `,
    })
    // Hub events run as separate tasks (no order between them): wait for the
    // connect chain before closing.
    const seen = collect(engine, 'seen', 3)
    const connected = collect(engine, 'seen', 2)
    const c = await connect(ws())
    const id = engine.hub.clients()[0].id
    await connected
    await c.close()
    expect(await seen).toEqual([
      { hook: 'connect', id, anon: true, seq: 'number' },
      { hook: 'connect-late', id },
      { hook: 'disconnect', id, code: 1000 },
    ])
  })

  it('onWsMessage(type) answers the sender with e.reply; Node never runs a handler', async () => {
    const { engine, ws } = await app({
      'echo.pb.js': `onWsMessage('echo', (e) => e.reply({ got: e.data, from: e.client.id, type: e.type }))`,
    })
    const c = await connect(ws())
    const answer = await c.request('echo', { x: 1 })
    expect(answer.message_type).toBe('echo')
    expect(answer.data).toEqual({ got: { x: 1 }, from: engine.hub.clients()[0].id, type: 'echo' })
    expect(engine.stats().jsCalls).toBe(0)
    await c.close()
  })

  it('when every hook calls e.next(), the TypeScript handler of the type gets the message', async () => {
    const { engine, ws } = await app({
      'chat.pb.js': `
        onWsMessage('chat', (e) => {
          if (e.data.text.includes('spam')) return e.error(2001, 'no spam')
          return e.next()
        })
      `,
    })
    const handled: unknown[] = []
    engine.hub.on('chat', (_client: unknown, data: any) => {
      handled.push(data)
      return { ok: true }
    })
    const c = await connect(ws())
    const spam = await c.request('chat', { text: 'buy spam' })
    expect(spam.message_type).toBe('error')
    expect(spam.data).toMatchObject({ code: 2001, details: 'no spam' })
    const ok = await c.request('chat', { text: 'hello' })
    expect(ok.message_type).toBe('chat')
    expect(ok.data).toEqual({ ok: true })
    expect(handled).toEqual([{ text: 'hello' }])
    await c.close()
  })

  it('a hook that throws or runs past its deadline sends an error naming the request, without details', async () => {
    const { ws } = await app({
      'bad.pb.js': `
        onWsMessage('boom', () => { throw new Error('secret internals') })
        onWsMessage('spin', () => { for (;;) {} })
        onWsMessage('late', () => { throw new Error('missed the deadline') })
      `,
    })
    const c = await connect(ws())
    const boom = await c.request('boom', {})
    expect(boom.message_type).toBe('error')
    expect(boom.data.code).toBe(1003)
    expect(JSON.stringify(boom.data)).not.toMatch(/secret internals/)
    const spin = await c.request('spin', {})
    expect(spin.data.code).toBe(1004)
    // A script's own error that mentions a deadline is still a plain 1003.
    expect((await c.request('late', {})).data.code).toBe(1003)
    // The runtime was replaced: the hub still serves scripts.
    expect((await c.request('boom', {})).data.code).toBe(1003)
    await c.close()
  })

  it('scripts send through the hub global: hook routes, cron and events can push to clients', async () => {
    const { engine, base, ws } = await app({
      'push.pb.js': `
        routerAdd('POST', '/api/announce', (e) => e.json(200, { sent: hub.broadcast('announce', e.request.json()) }))
        routerAdd('POST', '/api/room/:id', (e) => {
          try { return e.json(200, { sent: hub.toRoom(e.request.param('id'), 'note', e.request.json()) }) }
          catch (err) { return e.json(404, { error: String(err.message) }) }
        })
        app.on('dm', (e) => { hub.toClient(e.data.to, 'dm', { text: e.data.text }) })
      `,
    })
    engine.hub.createRoom('lobby')
    const a = await connect(ws())
    const b = await connect(ws())
    const res = await fetch(`${base}/api/announce`, { method: 'POST', body: '{"text":"hi"}' })
    expect(await res.json()).toEqual({ sent: 2 })
    expect((await a.next('announce')).data).toEqual({ text: 'hi' })
    expect((await b.next('announce')).data).toEqual({ text: 'hi' })

    const missing = await fetch(`${base}/api/room/nowhere`, { method: 'POST', body: '{}' })
    expect(missing.status).toBe(404)
    expect((await missing.json()).error).toMatch(/room/i)

    const bId = engine.hub
      .clients()
      .map((c: any) => c.id)
      .find((id: string) => id !== engine.hub.clients()[0].id)
    engine.jsvm.emit('dm', { to: bId, text: 'psst' })
    const dm = await Promise.race([b.next('dm'), a.next('dm')])
    expect(dm.data).toEqual({ text: 'psst' })
    await a.close()
    await b.close()
  })

  it('a reload adds and removes message types at once', async () => {
    const { engine, dir, ws } = await app({ 'a.pb.js': `onWsMessage('one', (e) => e.reply(1))` })
    const c = await connect(ws())
    expect((await c.request('one', {})).data).toBe(1)
    expect((await c.request('two', {})).data.code).toBe(1000)
    unlinkSync(join(dir, 'a.pb.js'))
    writeFileSync(join(dir, 'b.pb.js'), `onWsMessage('two', (e) => e.reply(2))`)
    await engine.jsvm.reload()
    expect((await c.request('two', {})).data).toBe(2)
    expect((await c.request('one', {})).data.code).toBe(1000)
    await c.close()
  })

  it('refuses at load: a built-in type, and ws hooks in a service without a hub', async () => {
    await expect(app({ 'x.pb.js': `onWsMessage('ping', (e) => e.reply(1))` })).rejects.toThrow(/built-in message type/)
    await expect(app({ 'x.pb.js': `onWsConnect((e) => e.next())` }, { hub: false })).rejects.toThrow(/onWsConnect needs the engine's HubPlugin/)
  })
})
