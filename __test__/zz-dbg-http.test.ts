import { it } from 'vitest'
import net from 'node:net'
import { Route } from '../index.js'
import { setup, listen, stopAll } from './helpers/http'
it('dbg', async () => {
  const { Module, engine } = setup({ options: { bodyLimit: 64 } })
  @Module('m')
  class M {
    @Route({ method: 'POST', path: '/len' })
    async len(ctx: any) { return { len: (await ctx.req.arrayBuffer()).byteLength } }
  }
  const { port } = await listen(engine)
  for (const conn of ['keep-alive']) for (const oneWrite of [true]) for (const sizes of [[40,40],[40,40,40],[10,10,10,10,10,10,10,10,10,10],[100,5]]) {
    const chunk = 'y'.repeat(40)
    const chunked = sizes.map((n) => 'z'.repeat(n)).map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n'
    const headStr = `POST /len HTTP/1.1\r\nHost: x\r\nConnection: ${conn}\r\nTransfer-Encoding: chunked\r\n\r\n`
    const s = net.connect(port, '127.0.0.1')
    let data = ''
    const events: string[] = []
    s.on('data', (d) => { data += d; events.push('data') })
    s.on('error', (e) => events.push('error ' + e.message))
    s.on('end', () => events.push('end'))
    s.on('connect', () => { if (oneWrite) s.write(headStr + chunked); else { s.write(headStr); s.write(chunked) } })
    await new Promise((r) => { s.on('close', r); setTimeout(() => { events.push('timeout'); s.destroy() }, 300) })
    console.log(conn, oneWrite, sizes, events, JSON.stringify(data))
  }
  console.log(engine.stats())
  await stopAll()
})
