// A socket.io 4 hub for the `hub` scenario: websocket transport only, a
// "join" event puts the socket in the room (answered with "joined"), a
// "room_message" event goes to every other member of the room.
import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { PORT, ready } from './common.mjs'

const server = createServer()
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false })

io.on('connection', (socket) => {
  socket.on('join', (room) => {
    socket.join(room)
    socket.emit('joined', room)
  })
  socket.on('room_message', (data) => {
    socket.to('bench').emit('room_message', data)
  })
})

server.listen(PORT, '127.0.0.1', () => ready(server.address().port))
