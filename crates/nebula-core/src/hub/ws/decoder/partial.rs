//! A text or binary message whose final fragment has not arrived yet.
use bytes::BytesMut;

use super::{Incoming, ProtocolError};

/// The fragments received so far, checked as they come.
pub(super) struct Partial {
    text: bool,
    data: BytesMut,
    frames: usize,
    /// For text: how much of `data` is known to be complete, valid UTF-8.
    valid_up_to: usize,
}

impl Partial {
    /// A message from its first (not final) frame.
    pub(super) fn start(text: bool, first: &[u8]) -> Result<Partial, ProtocolError> {
        let mut data = BytesMut::with_capacity(first.len());
        data.extend_from_slice(first);
        let mut partial = Partial {
            text,
            data,
            frames: 1,
            valid_up_to: 0,
        };
        partial.check_utf8(false)?;
        Ok(partial)
    }

    /// Bytes received so far.
    pub(super) fn len(&self) -> usize {
        self.data.len()
    }

    /// Frames received so far.
    pub(super) fn frames(&self) -> usize {
        self.frames
    }

    /// Appends a continuation frame's payload. The buffer grows by doubling
    /// but not past `cap` (the message limit, already checked by the caller).
    pub(super) fn push(
        &mut self,
        fragment: &[u8],
        fin: bool,
        cap: usize,
    ) -> Result<(), ProtocolError> {
        let needed = self.data.len() + fragment.len();
        if self.data.capacity() < needed {
            let target = (self.data.capacity() * 2).clamp(needed, cap.max(needed));
            let mut fresh = BytesMut::with_capacity(target);
            fresh.extend_from_slice(&self.data);
            self.data = fresh;
        }
        self.data.extend_from_slice(fragment);
        self.frames += 1;
        self.check_utf8(fin)
    }

    /// The complete message.
    pub(super) fn finish(self) -> Incoming {
        let data = self.data.freeze();
        if self.text {
            Incoming::Text(data)
        } else {
            Incoming::Binary(data)
        }
    }

    /// Validates the text added since the last call, so a message fails on
    /// the first fragment that makes it invalid. An incomplete character at
    /// the end is fine until the final fragment.
    fn check_utf8(&mut self, fin: bool) -> Result<(), ProtocolError> {
        if !self.text {
            return Ok(());
        }
        match std::str::from_utf8(&self.data[self.valid_up_to..]) {
            Ok(_) => {
                self.valid_up_to = self.data.len();
                Ok(())
            }
            Err(e) if e.error_len().is_none() && !fin => {
                self.valid_up_to += e.valid_up_to();
                Ok(())
            }
            Err(_) => Err(ProtocolError::invalid_utf8("text message is not UTF-8")),
        }
    }
}
