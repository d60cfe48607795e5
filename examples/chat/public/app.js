// The chat page: log in, connect with the token, join the lobby, talk.
const $ = (s) => document.querySelector(s)
let ws
let nextId = 1
let me

function line(text, cls) {
  const p = document.createElement('p')
  p.textContent = text
  if (cls) p.className = cls
  $('#log').append(p)
  $('#log').scrollTop = $('#log').scrollHeight
}

function send(type, data) {
  ws.send(JSON.stringify({ message_id: nextId++, message_type: type, data }))
}

$('#login').addEventListener('submit', async (e) => {
  e.preventDefault()
  me = e.target.name.value
  const res = await fetch(`/api/login?name=${encodeURIComponent(me)}`)
  if (!res.ok) return line(`login failed: ${(await res.json()).message}`, 'system')
  const { token } = await res.json()
  const proto = location.protocol === 'https:' ? 'wss' : 'ws'
  ws = new WebSocket(`${proto}://${location.host}/ws?token=${encodeURIComponent(token)}`)
  ws.onopen = () => send('join_room', { room_id: 'lobby' })
  ws.onclose = (ev) => line(`disconnected (${ev.code})`, 'system')
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data)
    const d = msg.data || {}
    switch (msg.message_type) {
      case 'room_joined':
        $('#login').hidden = true
        $('#chat').hidden = false
        line(`you joined ${d.room_id} as ${me}`, 'system')
        break
      case 'room_message':
        line(`${d.sender_id}: ${d.content}`)
        break
      case 'presence':
        line(`${d.user} joined`, 'system')
        break
      case 'typing':
        if (d.user) {
          $('#typing').textContent = `${d.user} is typing…`
          setTimeout(() => ($('#typing').textContent = ''), 1500)
        }
        break
      case 'error':
        line(`error ${d.code}: ${d.message}${d.details ? ` (${d.details})` : ''}`, 'system')
        break
    }
  }
})

$('#say').addEventListener('submit', (e) => {
  e.preventDefault()
  const text = e.target.text.value
  send('room_message', { room_id: 'lobby', content: text })
  line(`${me}: ${text}`, 'me')
  e.target.text.value = ''
})

$('#say input').addEventListener('input', () => send('typing', { room_id: 'lobby' }))
