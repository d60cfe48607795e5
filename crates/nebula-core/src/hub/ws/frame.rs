//! Encoding server frames: never masked, always final (we do not fragment).
use bytes::{BufMut, Bytes, BytesMut};

/// The longest payload a control frame (close, ping, pong) may carry.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (RFC 6455 section 5.2); 3–7 and 11–15 are reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// 0x0: a later fragment of a text or binary message.
    Continuation,
    /// 0x1: a text message (UTF-8).
    Text,
    /// 0x2: a binary message.
    Binary,
    /// 0x8: the closing handshake.
    Close,
    /// 0x9: a ping; the peer answers with a pong carrying the same payload.
    Ping,
    /// 0xA: a pong.
    Pong,
}

impl Opcode {
    /// The opcode for the low four bits of a frame's first byte, or `None`
    /// for a reserved value.
    pub fn from_u8(value: u8) -> Option<Opcode> {
        match value {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Close, ping and pong: at most 125 bytes, never fragmented.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

impl From<Opcode> for u8 {
    fn from(op: Opcode) -> u8 {
        op.as_u8()
    }
}

impl TryFrom<u8> for Opcode {
    /// The reserved value.
    type Error = u8;

    fn try_from(value: u8) -> Result<Opcode, u8> {
        Opcode::from_u8(value).ok_or(value)
    }
}

/// The size of a server frame header for a payload of `len` bytes: 2, 4 or 10.
pub fn header_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

/// Writes a final, unmasked frame header for a payload of `len` bytes.
pub fn put_header(buf: &mut BytesMut, opcode: Opcode, len: usize) {
    buf.put_u8(0x80 | opcode.as_u8());
    match len {
        0..=125 => buf.put_u8(len as u8),
        126..=0xFFFF => {
            buf.put_u8(126);
            buf.put_u16(len as u16);
        }
        _ => {
            buf.put_u8(127);
            buf.put_u64(len as u64);
        }
    }
}

/// One complete frame: FIN set, unmasked, the shortest length form.
///
/// A control opcode with more than 125 bytes makes an invalid frame; the
/// helpers below ([`close`], [`ping`], [`pong`]) truncate for you.
pub fn encode(opcode: Opcode, payload: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(header_len(payload.len()) + payload.len());
    put_header(&mut buf, opcode, payload.len());
    buf.extend_from_slice(payload);
    buf.freeze()
}

/// A text frame; `payload` must be UTF-8.
pub fn text(payload: &[u8]) -> Bytes {
    encode(Opcode::Text, payload)
}

/// A binary frame.
pub fn binary(payload: &[u8]) -> Bytes {
    encode(Opcode::Binary, payload)
}

/// A close frame with a status code and a reason, the reason cut on a
/// character boundary so the payload stays within 125 bytes.
pub fn close(code: u16, reason: &str) -> Bytes {
    let reason = truncate(reason, MAX_CONTROL_PAYLOAD - 2);
    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
    payload[..2].copy_from_slice(&code.to_be_bytes());
    payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
    encode(Opcode::Close, &payload[..2 + reason.len()])
}

/// A close frame with no status code.
pub fn close_empty() -> Bytes {
    Bytes::from_static(&[0x88, 0x00])
}

/// A pong answering a ping; the payload is cut to 125 bytes.
pub fn pong(payload: &[u8]) -> Bytes {
    encode(
        Opcode::Pong,
        &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)],
    )
}

/// A ping; the payload is cut to 125 bytes.
pub fn ping(payload: &[u8]) -> Bytes {
    encode(
        Opcode::Ping,
        &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)],
    )
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character
/// boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests;
