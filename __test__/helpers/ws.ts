// A WebSocket test client (the `ws` package) that queues what it receives,
// so tests await messages and closes as events instead of sleeping.
import WebSocket from 'ws'

export interface HubMessage {
  message_id: number
  message_type: string
  data: any
  request_id?: number
  timestamp?: number
}

export interface TestClient {
  ws: WebSocket
  /** The next message (of `type`, if given: others before it are skipped). */
  next(type?: string, timeoutMs?: number): Promise<HubMessage>
  /** Sends `{message_id, message_type, data}`. */
  send(type: string, data?: unknown, messageId?: number): void
  /** Sends a request and waits for the answer naming its message_id. */
  request(type: string, data?: unknown): Promise<HubMessage>
  closed: Promise<{ code: number; reason: string }>
  close(): Promise<{ code: number; reason: string }>
}

let nextId = 1

/** Connects; rejects with the HTTP status when the upgrade is refused. */
export function connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options)
    const queue: HubMessage[] = []
    const waiters: Array<() => void> = []
    let onClose!: (v: { code: number; reason: string }) => void
    const closed = new Promise<{ code: number; reason: string }>((r) => (onClose = r))
    ws.on('message', (data) => {
      queue.push(JSON.parse(data.toString()))
      for (const w of waiters.splice(0)) w()
    })
    ws.on('close', (code, reason) => {
      onClose({ code, reason: reason.toString() })
      for (const w of waiters.splice(0)) w()
    })
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })))
    })
    ws.on('error', (err) => reject(err))
    ws.on('open', () => {
      const waitFor = async (pred: (m: HubMessage) => boolean, what: string, timeoutMs: number) => {
        const deadline = Date.now() + timeoutMs
        for (;;) {
          const i = queue.findIndex(pred)
          if (i >= 0) return queue.splice(i, 1)[0]
          if (ws.readyState === WebSocket.CLOSED) throw new Error(`closed while waiting for ${what}`)
          const left = deadline - Date.now()
          if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms (queued: ${JSON.stringify(queue)})`)
          await new Promise<void>((r) => {
            const t = setTimeout(r, left)
            waiters.push(() => {
              clearTimeout(t)
              r()
            })
          })
        }
      }
      const client: TestClient = {
        ws,
        closed,
        next(type, timeoutMs = 5000) {
          return waitFor((m) => type === undefined || m.message_type === type, type ?? 'message', timeoutMs)
        },
        send(type, data, messageId = nextId++) {
          ws.send(JSON.stringify({ message_id: messageId, message_type: type, data }))
        },
        request(type, data) {
          const id = nextId++
          client.send(type, data, id)
          return waitFor((m) => m.request_id === id, `answer to ${type} #${id}`, 5000)
        },
        close() {
          ws.close(1000)
          return closed
        },
      }
      resolve(client)
    })
  })
}
