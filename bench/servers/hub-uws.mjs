// A uWebSockets.js pub/sub hub for the `hub` scenario: the same wire format as
// servers/hub-ws.mjs and nebula's hub (GoHub's join_room / room_message), a
// room as a uWS topic, the outgoing message serialized once and published by
// the sender (uWS's ws.publish skips the sender, as the other hubs do).
// Backpressure limits are raised so that no slow receiver is dropped (the
// `ws` hub buffers without a limit too).
import { loadUws, serve } from './uws-app.mjs'

const uWS = loadUws()

const rooms = new Set(['bench'])
let nextClient = 1
let nextMessage = 1
const decoder = new TextDecoder()

const envelope = (type, data, requestId) => {
  const m = { message_id: nextMessage++, message_type: type, data }
  if (requestId !== undefined) m.request_id = requestId
  m.timestamp = Date.now()
  return JSON.stringify(m)
}

const app = uWS.App()
app.ws('/ws', {
  compression: uWS.DISABLED,
  maxPayloadLength: 1024 * 1024,
  maxBackpressure: 1024 * 1024 * 1024,
  closeOnBackpressureLimit: false,
  idleTimeout: 0,
  sendPingsAutomatically: false,
  open: (ws) => {
    const data = ws.getUserData()
    data.id = `c${nextClient++}`
    data.rooms = new Set()
  },
  message: (ws, raw, isBinary) => {
    const data = ws.getUserData()
    let msg
    try {
      if (isBinary) throw new Error('binary')
      msg = JSON.parse(decoder.decode(raw))
    } catch {
      return ws.send(envelope('error', { code: 1001, message: 'invalid format' }))
    }
    const roomId = msg.data?.room_id
    switch (msg.message_type) {
      case 'join_room': {
        if (!rooms.has(roomId)) return ws.send(envelope('error', { code: 3000, message: 'room not found' }, msg.message_id))
        ws.subscribe(roomId)
        data.rooms.add(roomId)
        return ws.send(envelope('room_joined', { room_id: roomId, status: 'joined' }, msg.message_id))
      }
      case 'room_message': {
        if (!rooms.has(roomId) || !data.rooms.has(roomId))
          return ws.send(envelope('error', { code: 3003, message: 'not in room' }, msg.message_id))
        const out = envelope('room_message', {
          room_id: roomId,
          content: msg.data.content,
          sender_id: data.id,
          timestamp: Date.now(),
        })
        ws.publish(roomId, out)
        return
      }
      default:
        return ws.send(envelope('error', { code: 1000, message: 'unknown message type' }, msg.message_id))
    }
  },
})
serve(uWS, app)
