// Shared helpers for the HTTP suites: isolated engines that are always
// stopped, and a raw HTTP/1.1 client over node:net for what fetch can't
// express (exact request targets, keep-alive on one socket, pipelining,
// chunked bodies, half-sent heads).
import net from 'node:net'
import { Testing, RoutePlugin } from '../../index.js'

export type Engine = any
export type Ctx = any

const engines: Engine[] = []

/**
 * An engine of its own (Testing factory: no default plugins, its own Module)
 * with a RoutePlugin(`route`) and `extra` plugins. Registered for stopAll().
 */
export function setup({
  route = {},
  options = {},
  plugins = [],
}: {
  route?: Record<string, unknown>
  options?: Record<string, unknown>
  plugins?: unknown[]
} = {}) {
  const { Module, engine } = Testing.createTestEngine({
    plugins: [new RoutePlugin(route), ...plugins],
    options: { name: 'http-test', version: '1.2.3', ...options },
  })
  engines.push(engine)
  return { Module, engine: engine as Engine }
}

/** Starts the engine on a free port; returns the port and a base URL. */
export async function listen(engine: Engine) {
  const port: number = await engine.start(0)
  return { port, base: `http://127.0.0.1:${port}` }
}

/** For afterEach: stops every engine created by setup() (started or not). */
export async function stopAll() {
  const list = engines.splice(0)
  await Promise.all(list.map((e) => e.stop()))
}

export function deferred<T = void>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  text: string
}

function parseHead(head: string) {
  const lines = head.split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0])
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`)
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    const k = line.slice(0, i).trim().toLowerCase()
    const v = line.slice(i + 1).trim()
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v
  }
  return { status: Number(m[1]), headers }
}

/** One complete response at the start of `buf`, or undefined when more bytes are needed. */
function tryParse(buf: Buffer, head: boolean, ended: boolean): { res: RawResponse; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const { status, headers } = parseHead(buf.subarray(0, end).toString('latin1'))
  let pos = end + 4
  const done = (body: Buffer, used: number) => ({ res: { status, headers, body, text: body.toString('utf8') }, used })
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) return done(Buffer.alloc(0), pos)
  if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts: Buffer[] = []
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos)
      if (lineEnd === -1) return undefined
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16)
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', lineEnd + 2)
        if (trailerEnd === -1) return undefined
        return done(Buffer.concat(parts), trailerEnd + 2)
      }
      if (buf.length < lineEnd + 2 + size + 2) return undefined
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size))
      pos = lineEnd + 2 + size + 2
    }
  }
  if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length'])
    if (buf.length < pos + len) return undefined
    return done(Buffer.from(buf.subarray(pos, pos + len)), pos + len)
  }
  // No length: the body runs to the end of the connection.
  return ended ? done(Buffer.from(buf.subarray(pos)), buf.length) : undefined
}

/** A raw HTTP/1.1 connection. */
export class RawClient {
  socket: net.Socket
  private buf = Buffer.alloc(0)
  private ended = false
  private wake: (() => void) | undefined
  /** Total bytes received on this connection. */
  received = 0
  /** Everything received on this connection, read or not. */
  all = Buffer.alloc(0)
  /** Resolves when the server (or anything) closes the connection. */
  closed: Promise<void>

  private constructor(socket: net.Socket) {
    this.socket = socket
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length
      this.all = Buffer.concat([this.all, chunk])
      this.buf = Buffer.concat([this.buf, chunk])
      this.poke()
    })
    socket.on('end', () => {
      this.ended = true
      this.poke()
    })
    socket.on('close', () => {
      this.ended = true
      this.poke()
    })
    socket.on('error', () => {})
  }

  private poke() {
    const w = this.wake
    this.wake = undefined
    if (w) w()
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host })
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new RawClient(socket))
      })
      socket.once('error', reject)
    })
  }

  write(data: string | Buffer) {
    this.socket.write(data)
  }

  /** Reads the next complete response (set head for a HEAD request: no body follows). */
  async read({ head = false } = {}): Promise<RawResponse> {
    for (;;) {
      const got = tryParse(this.buf, head, this.ended)
      if (got) {
        this.buf = this.buf.subarray(got.used)
        return got.res
      }
      if (this.ended) throw new Error(`connection closed before a complete response (${this.buf.length} bytes pending)`)
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  destroy() {
    this.socket.destroy()
  }
}

/** GET-style helper: one request line + headers (+ body) on a fresh connection, one response. */
export async function rawRequest(
  port: number,
  method: string,
  target: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const client = await RawClient.connect(port)
  try {
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: test.local', 'Connection: close']
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
    if (body !== undefined && !Object.keys(headers).some((k) => /^(content-length|transfer-encoding)$/i.test(k))) {
      lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
    }
    client.write(`${lines.join('\r\n')}\r\n\r\n`)
    if (body !== undefined) client.write(body)
    return await client.read({ head: method === 'HEAD' })
  } finally {
    client.destroy()
  }
}

/** Whether a TCP connection to the port is accepted (the socket is closed right away). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** Builds a request head for raw writes. */
export function head(method: string, target: string, headers: Record<string, string> = {}) {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: test.local']
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}
