//! Test helpers: client frames (masked, any bits) and a parser of server frames.

/// The mask the helpers use unless told otherwise.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame builder: `ClientFrame::new(0x1, b"hi").fin(false).bytes()`.
#[derive(Clone, Debug)]
pub struct ClientFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload: Vec<u8>,
    mask: Option<[u8; 4]>,
    /// Declared length, when it should differ from the payload's.
    len: Option<u64>,
}

impl ClientFrame {
    pub fn new(opcode: u8, payload: &[u8]) -> ClientFrame {
        ClientFrame {
            fin: true,
            rsv: 0,
            opcode,
            payload: payload.to_vec(),
            mask: Some(MASK),
            len: None,
        }
    }
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }
    /// RSV bits as 0..=7 (RSV1 = 4).
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }
    pub fn unmasked(mut self) -> Self {
        self.mask = None;
        self
    }
    pub fn declared_len(mut self, len: u64) -> Self {
        self.len = Some(len);
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = vec![(u8::from(self.fin) << 7) | (self.rsv << 4) | self.opcode];
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.len.unwrap_or(self.payload.len() as u64);
        if len < 126 {
            out.push(mask_bit | len as u8);
        } else if len <= 0xFFFF {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
        match self.mask {
            Some(mask) => {
                out.extend_from_slice(&mask);
                out.extend(
                    self.payload
                        .iter()
                        .enumerate()
                        .map(|(i, b)| b ^ mask[i % 4]),
                );
            }
            None => out.extend_from_slice(&self.payload),
        }
        out
    }
}

pub fn text(payload: &[u8]) -> Vec<u8> {
    ClientFrame::new(0x1, payload).bytes()
}

pub fn binary(payload: &[u8]) -> Vec<u8> {
    ClientFrame::new(0x2, payload).bytes()
}

pub fn ping(payload: &[u8]) -> Vec<u8> {
    ClientFrame::new(0x9, payload).bytes()
}

pub fn close(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    ClientFrame::new(0x8, &payload).bytes()
}

/// A server frame: (first byte, payload), or `None` while `buf` holds less
/// than a frame; the frame is removed from `buf`.
pub fn take_server_frame(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    if buf.len() < 2 {
        return None;
    }
    assert_eq!(buf[1] & 0x80, 0, "server frames are never masked");
    let (len, offset) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => {
            let mut len = [0u8; 8];
            len.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(len) as usize, 10)
        }
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    if buf.len() < offset + len {
        return None;
    }
    let b0 = buf[0];
    let payload = buf[offset..offset + len].to_vec();
    buf.drain(..offset + len);
    Some((b0, payload))
}
