//! Incremental decoding of client frames into messages and control frames.
//!
//! The caller reads socket data straight into [`Decoder::buffer_mut`] and
//! calls [`Decoder::next`] until it returns `Ok(None)`. Every rule the RFC
//! sets for a server is enforced; a violation is returned as the
//! [`ProtocolError`] whose close code should be sent.
use bytes::{Buf, Bytes, BytesMut};

use super::close_code::{self, INVALID_PAYLOAD, PROTOCOL_ERROR, TOO_BIG};
use super::frame::{Opcode, MAX_CONTROL_PAYLOAD};
use super::mask::unmask;
use partial::Partial;

mod partial;

/// The longest client frame header: 2 + 8 (64-bit length) + 4 (mask).
const MAX_HEADER: usize = 14;
/// Spare room the buffer keeps for the next read.
const READ_CHUNK: usize = 4096;
/// Below this much spare room the buffer is grown or compacted.
const MIN_SPARE: usize = 1024;
/// Payloads up to this size are copied out of the read buffer, so a small
/// message held by the application does not pin the buffer and the buffer
/// can be reused in place.
const COPY_MAX: usize = 1024;

/// Size limits for what a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes, after reassembling its fragments.
    pub max_message: usize,
    /// Most frames one message may be split into.
    pub max_fragments: usize,
}

impl Default for Limits {
    /// 1 MiB messages of at most 1024 frames.
    fn default() -> Limits {
        Limits {
            max_message: 1 << 20,
            max_fragments: 1024,
        }
    }
}

/// A complete message or control frame from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A text message, checked to be UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping (at most 125 bytes); answer with a pong of the same payload.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The client's close frame: its code and reason, or `None` when it
    /// carried no payload. Nothing more is decoded after it.
    Close(Option<(u16, String)>),
}

/// A violation of the protocol by the client, and the close code to answer
/// with: 1002 (protocol error), 1007 (invalid UTF-8) or 1009 (too big).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    /// The close code to send.
    pub code: u16,
    /// The close reason to send.
    pub reason: &'static str,
}

impl ProtocolError {
    const fn protocol(reason: &'static str) -> ProtocolError {
        ProtocolError {
            code: PROTOCOL_ERROR,
            reason,
        }
    }
    const fn invalid_utf8(reason: &'static str) -> ProtocolError {
        ProtocolError {
            code: INVALID_PAYLOAD,
            reason,
        }
    }
    const fn too_big(reason: &'static str) -> ProtocolError {
        ProtocolError {
            code: TOO_BIG,
            reason,
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.code)
    }
}

impl std::error::Error for ProtocolError {}

/// A frame header that passed every check.
struct Header {
    fin: bool,
    opcode: Opcode,
    mask: [u8; 4],
    header_len: usize,
    payload_len: usize,
}

enum State {
    Open,
    /// A close frame was returned; the rest of the stream is ignored.
    Closed,
    /// The stream broke the protocol; the error is returned again.
    Failed(ProtocolError),
}

/// Decodes client frames from bytes read off the socket.
pub struct Decoder {
    limits: Limits,
    buf: BytesMut,
    partial: Option<Partial>,
    state: State,
}

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            buf: BytesMut::with_capacity(READ_CHUNK),
            partial: None,
            state: State::Open,
        }
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The buffer to read socket data into (`read_buf`). After
    /// [`next`](Self::next) returns `Ok(None)` it has room for the rest of
    /// the current frame, and never much more than one frame header plus
    /// `max_message` bytes.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The next complete message or control frame in the buffer, `Ok(None)`
    /// when more bytes are needed. Control frames that arrive between the
    /// fragments of a message are returned as they come. After an error,
    /// the same error is returned again; after a close frame, `Ok(None)`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Incoming>, ProtocolError> {
        match &self.state {
            State::Open => {}
            State::Closed => {
                self.buf.clear();
                return Ok(None);
            }
            State::Failed(err) => return Err(err.clone()),
        }
        let result = self.step();
        if let Err(err) = &result {
            self.state = State::Failed(err.clone());
            self.partial = None;
            self.buf.clear();
        }
        result
    }

    fn step(&mut self) -> Result<Option<Incoming>, ProtocolError> {
        loop {
            let Some(h) = self.header()? else {
                self.reserve_for(MAX_HEADER);
                return Ok(None);
            };
            let total = h.header_len + h.payload_len;
            if self.buf.len() < total {
                self.reserve_for(total);
                return Ok(None);
            }
            unmask(&mut self.buf[h.header_len..total], h.mask);
            let text = match h.opcode {
                Opcode::Ping => return Ok(Some(Incoming::Ping(self.take_payload(&h)))),
                Opcode::Pong => return Ok(Some(Incoming::Pong(self.take_payload(&h)))),
                Opcode::Close => {
                    let close = parse_close(&self.take_payload(&h))?;
                    self.state = State::Closed;
                    return Ok(Some(Incoming::Close(close)));
                }
                Opcode::Text => true,
                Opcode::Binary => false,
                Opcode::Continuation => {
                    let Some(partial) = self.partial.as_mut() else {
                        return Err(ProtocolError::protocol(
                            "continuation frame without a message",
                        ));
                    };
                    let fragment = &self.buf[h.header_len..total];
                    partial.push(fragment, h.fin, self.limits.max_message)?;
                    self.buf.advance(total);
                    if !h.fin {
                        continue;
                    }
                    match self.partial.take() {
                        Some(done) => return Ok(Some(done.finish())),
                        None => continue,
                    }
                }
            };
            if h.fin {
                let payload = self.take_payload(&h);
                if !text {
                    return Ok(Some(Incoming::Binary(payload)));
                }
                if std::str::from_utf8(&payload).is_err() {
                    return Err(ProtocolError::invalid_utf8("text message is not UTF-8"));
                }
                return Ok(Some(Incoming::Text(payload)));
            }
            let partial = Partial::start(text, &self.buf[h.header_len..total])?;
            self.buf.advance(total);
            self.partial = Some(partial);
        }
    }

    /// Parses and checks the header at the front of the buffer; `Ok(None)`
    /// when it is incomplete. Each check runs as soon as the bytes it needs
    /// are in, so a frame is refused before its payload is buffered.
    fn header(&self) -> Result<Option<Header>, ProtocolError> {
        let buf = &self.buf[..];
        let [b0, b1, ..] = *buf else { return Ok(None) };
        if b0 & 0x70 != 0 {
            return Err(ProtocolError::protocol(
                "reserved bits set without an extension",
            ));
        }
        let Some(opcode) = Opcode::from_u8(b0 & 0x0f) else {
            return Err(ProtocolError::protocol("reserved opcode"));
        };
        let fin = b0 & 0x80 != 0;
        if b1 & 0x80 == 0 {
            return Err(ProtocolError::protocol("client frames must be masked"));
        }
        let len7 = b1 & 0x7f;
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::protocol("fragmented control frame"));
            }
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                return Err(ProtocolError::protocol(
                    "control frame longer than 125 bytes",
                ));
            }
        }
        match (opcode, &self.partial) {
            (Opcode::Continuation, None) => {
                return Err(ProtocolError::protocol(
                    "continuation frame without a message",
                ));
            }
            (Opcode::Text | Opcode::Binary, Some(_)) => {
                return Err(ProtocolError::protocol(
                    "new message before the fragmented one ended",
                ));
            }
            _ => {}
        }
        let (len, offset) = match len7 {
            126 => match buf.get(2..4) {
                Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
                _ => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(bytes) => {
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(bytes);
                    let len = u64::from_be_bytes(raw);
                    if len >> 63 != 0 {
                        return Err(ProtocolError::protocol("frame length has the top bit set"));
                    }
                    (len, 10)
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        let payload_len =
            usize::try_from(len).map_err(|_| ProtocolError::too_big("message too big"))?;
        if !opcode.is_control() {
            let (so_far, frames) = self
                .partial
                .as_ref()
                .map_or((0, 0), |p| (p.len(), p.frames()));
            if frames >= self.limits.max_fragments {
                return Err(ProtocolError::too_big("message in too many fragments"));
            }
            if payload_len > self.limits.max_message.saturating_sub(so_far) {
                return Err(ProtocolError::too_big("message too big"));
            }
        }
        let Some(mask) = buf.get(offset..offset + 4) else {
            return Ok(None);
        };
        let mask = [mask[0], mask[1], mask[2], mask[3]];
        Ok(Some(Header {
            fin,
            opcode,
            mask,
            header_len: offset + 4,
            payload_len,
        }))
    }

    /// Removes the (unmasked) frame from the buffer and returns its payload.
    fn take_payload(&mut self, h: &Header) -> Bytes {
        let total = h.header_len + h.payload_len;
        if h.payload_len <= COPY_MAX {
            let payload = Bytes::copy_from_slice(&self.buf[h.header_len..total]);
            self.buf.advance(total);
            payload
        } else {
            self.buf.advance(h.header_len);
            self.buf.split_to(h.payload_len).freeze()
        }
    }

    /// Makes room for a frame of `frame_len` bytes and a useful read: in
    /// place when the buffer can be compacted, else in a new buffer of just
    /// the size needed (no doubling past the frame).
    fn reserve_for(&mut self, frame_len: usize) {
        let len = self.buf.len();
        let missing = frame_len.saturating_sub(len);
        let spare = self.buf.capacity() - len;
        if spare >= missing && spare >= MIN_SPARE {
            return;
        }
        let additional = missing.max(READ_CHUNK);
        if self.buf.try_reclaim(additional) {
            return;
        }
        let mut fresh = BytesMut::with_capacity(len + additional);
        fresh.extend_from_slice(&self.buf);
        self.buf = fresh;
    }
}

/// A close frame's payload: nothing, or a valid code and a UTF-8 reason.
fn parse_close(payload: &[u8]) -> Result<Option<(u16, String)>, ProtocolError> {
    let [hi, lo, reason @ ..] = payload else {
        return match payload.len() {
            0 => Ok(None),
            _ => Err(ProtocolError::protocol("close payload of one byte")),
        };
    };
    let code = u16::from_be_bytes([*hi, *lo]);
    if !close_code::is_valid(code) {
        return Err(ProtocolError::protocol("invalid close code"));
    }
    match std::str::from_utf8(reason) {
        Ok(reason) => Ok(Some((code, reason.to_owned()))),
        Err(_) => Err(ProtocolError::invalid_utf8("close reason is not UTF-8")),
    }
}

#[cfg(test)]
mod tests;
