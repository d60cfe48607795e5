// A typical hub on the `ws` library for the `hub` scenario: the same wire
// format as nebula's hub (GoHub's) for join_room / room_message, rooms as
// Sets of sockets, the outgoing message serialized once and sent to every
// member but the sender.
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'
import { PORT, ready } from './common.mjs'

const rooms = new Map([['bench', new Set()]])
let nextClient = 1
let nextMessage = 1

const envelope = (type, data, requestId) => {
  const m = { message_id: nextMessage++, message_type: type, data }
  if (requestId !== undefined) m.request_id = requestId
  m.timestamp = Date.now()
  return JSON.stringify(m)
}

const server = createServer((_req, res) => res.writeHead(404).end())
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false })

wss.on('connection', (socket) => {
  socket.id = `c${nextClient++}`
  socket.rooms = new Set()
  socket.on('message', (raw, isBinary) => {
    let msg
    try {
      if (isBinary) throw new Error('binary')
      msg = JSON.parse(raw)
    } catch {
      return socket.send(envelope('error', { code: 1001, message: 'invalid format' }))
    }
    const roomId = msg.data?.room_id
    switch (msg.message_type) {
      case 'join_room': {
        const room = rooms.get(roomId)
        if (!room) return socket.send(envelope('error', { code: 3000, message: 'room not found' }, msg.message_id))
        room.add(socket)
        socket.rooms.add(roomId)
        return socket.send(envelope('room_joined', { room_id: roomId, status: 'joined' }, msg.message_id))
      }
      case 'room_message': {
        const room = rooms.get(roomId)
        if (!room || !socket.rooms.has(roomId))
          return socket.send(envelope('error', { code: 3003, message: 'not in room' }, msg.message_id))
        const out = envelope('room_message', {
          room_id: roomId,
          content: msg.data.content,
          sender_id: socket.id,
          timestamp: Date.now(),
        })
        for (const member of room) if (member !== socket) member.send(out)
        return
      }
      default:
        return socket.send(envelope('error', { code: 1000, message: 'unknown message type' }, msg.message_id))
    }
  })
  socket.on('close', () => {
    for (const id of socket.rooms) rooms.get(id)?.delete(socket)
  })
})

server.listen(PORT, '127.0.0.1', () => ready(server.address().port))
