'use strict'

// `engine.hub`: the server SDK over the Rust hub. It exists as soon as the
// HubPlugin is registered; rooms created and handlers registered before the
// engine loads are applied when the native hub is attached.

const { callListener, eventDrainer } = require('../listeners')
const { logError, settle, thenOf } = require('../fault')

const BUILTIN_TYPES = new Set(['ping', 'pong', 'join_room', 'room_joined', 'leave_room', 'room_left', 'room_message', 'direct_message', 'error'])

/** Async handler calls of one connection still running: beyond this, its messages get 1005. */
const MAX_IN_FLIGHT = 64

/** An error a message handler throws on purpose: its code (GoHub's, 1000-4999) and message reach the client. */
class HubError extends Error {
  constructor(code, message) {
    if (!Number.isInteger(code) || code < 1000 || code > 4999) {
      throw new TypeError(`HubError(code, message): code must be an integer from 1000 to 4999 (GoHub's codes), got ${String(code)}`)
    }
    super(message === undefined ? '' : String(message))
    this.name = 'HubError'
    this.code = code
  }
}

/** `{ code, message }` of a HubError thrown on purpose, else undefined. Never throws (see ../fault). */
function hubErrorOf(err) {
  try {
    if (!(err instanceof HubError)) return undefined
    const { code, message } = err
    if (!Number.isInteger(code) || code < 1000 || code > 4999) return undefined
    return { code, message: typeof message === 'string' && message !== '' ? message : null }
  } catch {
    return undefined
  }
}

function json(data) {
  const s = JSON.stringify(data === undefined ? null : data)
  return s === undefined ? 'null' : s
}

/** `[1234] message` from Rust → a HubError with that code. */
function nativeError(err) {
  const m = /^\[(\d+)\] (.*)$/s.exec(err?.message)
  return m ? new HubError(Number(m[1]), m[2]) : err
}

function checkType(type) {
  if (typeof type !== 'string' || type === '' || type.length > 128) throw new TypeError('a message type is a string of 1 to 128 characters')
  if (BUILTIN_TYPES.has(type)) throw new TypeError(`"${type}" is a built-in message type`)
}

class Hub {
  constructor() {
    this._native = undefined
    this._pendingRooms = []
    this._types = new Map() // type -> { handler, permission }
    this._listeners = { connect: [], disconnect: [], join: [], leave: [] }
    this._clients = new Map() // id -> client (the current connection)
    this._inFlight = new Map() // seq -> async handler calls running
  }

  _attach(native) {
    this._native = native
    for (const [type, { permission }] of this._types) native.registerType(type, permission)
    for (const r of this._pendingRooms) this._createNative(r.id, r.options)
    this._pendingRooms = []
  }

  // ---- handlers and events ------------------------------------------------

  /**
   * Handles messages of a custom `type`: `handler(client, data, message)`.
   * A returned value (not undefined) is sent back to the sender as a message
   * of the same type answering its `message_id`; a thrown HubError sends its
   * code and message; any other error sends 1003 "server error" (and is logged).
   */
  on(type, handler, options = {}) {
    checkType(type)
    if (typeof handler !== 'function') throw new TypeError('hub.on(type, handler) needs a function')
    const permission = options.permission ?? null
    if (permission !== null && typeof permission !== 'string') throw new TypeError('hub.on() permission must be a string')
    if (this._types.has(type)) throw new Error(`a handler for "${type}" is already registered`)
    this._types.set(type, { handler, permission })
    if (this._native) this._native.registerType(type, permission)
    return this
  }

  onConnect(fn) {
    return this._listen('connect', fn)
  }

  onDisconnect(fn) {
    return this._listen('disconnect', fn)
  }

  onJoin(fn) {
    return this._listen('join', fn)
  }

  onLeave(fn) {
    return this._listen('leave', fn)
  }

  _listen(event, fn) {
    if (typeof fn !== 'function') throw new TypeError(`hub.on${event[0].toUpperCase()}${event.slice(1)}() needs a function`)
    this._listeners[event].push(fn)
    return this
  }

  // ---- sending ------------------------------------------------------------

  /** Every connected client; returns how many it was queued for. */
  broadcast(type, data) {
    if (!this._native) return 0
    return this._native.broadcast(String(type), json(data))
  }

  /** Every member of `room` (but `options.except`, a client id). */
  toRoom(room, type, data, options = {}) {
    if (!this._native) throw new HubError(3000, `room not found (${room})`)
    try {
      const except = options.except === undefined || options.except === null ? null : String(options.except)
      return this._native.toRoom(String(room), String(type), json(data), except)
    } catch (err) {
      throw nativeError(err)
    }
  }

  /** One client; false when it is not connected. */
  toClient(id, type, data) {
    if (!this._native) return false
    return this._native.toClient(String(id), String(type), json(data))
  }

  // ---- rooms and clients --------------------------------------------------

  /** Creates a room: `createRoom(id, { name?, maxClients? = 0 (unlimited) })`. */
  createRoom(id, options = {}) {
    if (typeof id !== 'string' || id === '') throw new TypeError('createRoom(id) needs a non-empty string id')
    const { name, maxClients = 0 } = options
    if (name !== undefined && typeof name !== 'string') throw new TypeError('createRoom name must be a string')
    if (!Number.isInteger(maxClients) || maxClients < 0 || maxClients > 10_000_000) {
      throw new TypeError('createRoom maxClients must be an integer from 0 (unlimited) to 10000000')
    }
    if (!this._native) {
      if (this._pendingRooms.some((r) => r.id === id)) throw new HubError(3001, `room already exists (${id})`)
      this._pendingRooms.push({ id, options: { name, maxClients } })
      return { id, name: name ?? id, max_clients: maxClients, clients: 0 }
    }
    return this._createNative(id, { name, maxClients })
  }

  _createNative(id, { name, maxClients }) {
    try {
      return JSON.parse(this._native.createRoom(id, name ?? null, maxClients))
    } catch (err) {
      throw nativeError(err)
    }
  }

  /** Deletes a room (its members leave it); false when there is none. */
  deleteRoom(id) {
    if (!this._native) {
      const before = this._pendingRooms.length
      this._pendingRooms = this._pendingRooms.filter((r) => r.id !== id)
      return this._pendingRooms.length < before
    }
    return this._native.deleteRoom(String(id))
  }

  rooms() {
    if (!this._native) return this._pendingRooms.map((r) => ({ id: r.id, name: r.options.name ?? r.id, max_clients: r.options.maxClients, clients: 0 }))
    return JSON.parse(this._native.rooms())
  }

  /** One room with its member ids, or undefined. */
  room(id) {
    if (!this._native) return undefined
    const r = this._native.room(String(id))
    return r === null ? undefined : JSON.parse(r)
  }

  clients() {
    return this._native ? JSON.parse(this._native.clients()) : []
  }

  stats() {
    return this._native ? JSON.parse(this._native.stats()) : { clients: 0, rooms: 0, counters: {} }
  }

  /** Closes a client's connection (code 4001 unless given); false when it is not connected. */
  disconnect(id, options = {}) {
    if (!this._native) return false
    return this._native.disconnect(String(id), options.code ?? null, options.reason ?? null, null)
  }

  // ---- events from Rust ---------------------------------------------------

  /** The function Rust calls when events wait. Never throws. */
  _drainer() {
    return eventDrainer(
      () => this._native.takeEvents(),
      6,
      (...e) => this._event(...e),
      '[nebula hub]',
    )
  }

  _event(kind, id, seq, a, b, c) {
    switch (kind) {
      case 0: {
        const info = JSON.parse(a)
        const client = this._client(id, seq, info)
        this._clients.set(id, client)
        return this._emit('connect', client)
      }
      case 1: {
        const client = this._clients.get(id)
        if (client && client.seq === seq) this._clients.delete(id)
        return this._emit('disconnect', client && client.seq === seq ? client : this._client(id, seq, {}), { code: a, reason: b })
      }
      case 2:
      case 3:
        return this._emit(kind === 2 ? 'join' : 'leave', this._clientFor(id, seq), a)
      case 4:
        return this._message(this._clientFor(id, seq), a, b, c)
    }
  }

  _clientFor(id, seq) {
    const client = this._clients.get(id)
    return client && client.seq === seq ? client : this._client(id, seq, {})
  }

  _client(id, seq, info) {
    const hub = this
    return Object.freeze({
      id,
      seq,
      username: info.username ?? undefined,
      anonymous: info.anonymous ?? false,
      permissions: Object.freeze(info.permissions ?? []),
      claims: info.claims ?? null,
      remoteAddr: info.remoteAddr ?? undefined,
      // This connection only: never a newer one with the same id.
      send(type, data) {
        return hub._native ? hub._native.toConnection(id, seq, String(type), json(data)) : false
      },
      disconnect(options = {}) {
        return hub._native ? hub._native.disconnect(id, options.code ?? null, options.reason ?? null, seq) : false
      },
    })
  }

  _emit(event, ...args) {
    for (const fn of this._listeners[event]) callListener(fn, args, `[nebula hub] ${event} listener`)
  }

  _message(client, type, dataJson, messageId) {
    const entry = this._types.get(type)
    const native = this._native
    // Never throws: this runs inside the drain and in promise callbacks,
    // whatever the handler threw (see ../fault).
    const fail = (err) => {
      const own = hubErrorOf(err)
      if (!own) logError(`[nebula hub] handler for "${type}" failed:`, err)
      try {
        native.replyError(client.id, client.seq, own ? own.code : 1003, own ? own.message : null, messageId)
      } catch (again) {
        logError('[nebula hub] could not answer a message:', again)
      }
    }
    const done = (value) => {
      try {
        if (value !== undefined) native.reply(client.id, client.seq, type, json(value), messageId)
      } catch (err) {
        fail(err) // e.g. a value JSON cannot hold
      }
    }
    if (!entry) return fail(new HubError(1000, `no handler for message type "${type}"`))
    const running = this._inFlight.get(client.seq) ?? 0
    if (running >= MAX_IN_FLIGHT) return fail(new HubError(1005, 'too many messages waiting for their handler, try again'))
    let result
    let then
    try {
      const data = JSON.parse(dataJson)
      result = entry.handler(client, data, { type, messageId, data, hub: this })
      then = thenOf(result)
    } catch (err) {
      return fail(err)
    }
    if (!then) return done(result)
    this._inFlight.set(client.seq, running + 1)
    const release = () => {
      const n = (this._inFlight.get(client.seq) ?? 1) - 1
      if (n <= 0) this._inFlight.delete(client.seq)
      else this._inFlight.set(client.seq, n)
    }
    settle(
      result,
      (value) => {
        release()
        done(value)
      },
      (err) => {
        release()
        fail(err)
      },
    )
  }
}

module.exports = { Hub, HubError }
