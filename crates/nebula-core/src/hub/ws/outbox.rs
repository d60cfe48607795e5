//! A client's bounded send queue of pre-framed bytes.
//!
//! Many producers (the hub's fan-out, from any task or thread) push frames;
//! one writer task takes them in batches. A broadcast frame is one `Bytes`
//! shared by every recipient's outbox.
use std::collections::VecDeque;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::frame::{self, Opcode};

/// Most control frames (pings, pongs) kept queued; they bypass the data limits.
pub const MAX_CONTROL: usize = 16;

/// How much unsent data a client may have waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Most data frames queued.
    pub max_messages: usize,
    /// Most bytes of data frames queued.
    pub max_bytes: usize,
}

impl Default for OutboxLimits {
    /// 1024 frames, 4 MiB.
    fn default() -> OutboxLimits {
        OutboxLimits {
            max_messages: 1024,
            max_bytes: 4 << 20,
        }
    }
}

/// What became of a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Queued for the writer.
    Queued,
    /// Not queued: a limit would be exceeded (the client reads too slowly).
    /// The caller decides whether to drop the frame or disconnect the client.
    Full,
    /// Not queued: the connection is closing or gone.
    Closed,
}

#[derive(Default)]
struct State {
    data: VecDeque<Bytes>,
    data_bytes: usize,
    /// Data frames of the batch the writer is writing: they still count
    /// against the limits until it asks for the next batch.
    writing: usize,
    writing_bytes: usize,
    control: VecDeque<Bytes>,
    /// The close frame, until the writer takes it.
    close_frame: Option<Bytes>,
    /// The code and reason of the first close.
    closed_with: Option<(u16, String)>,
    /// The writer has taken the close frame (or the connection is gone).
    finished: bool,
}

impl State {
    fn closing(&self) -> bool {
        self.closed_with.is_some() || self.finished
    }

    fn discard_queued(&mut self) {
        self.data.clear();
        self.data_bytes = 0;
        self.writing = 0;
        self.writing_bytes = 0;
        self.control.clear();
    }
}

/// A per-client send queue.
pub struct Outbox {
    limits: OutboxLimits,
    state: Mutex<State>,
    /// Wakes the writer.
    ready: Notify,
    /// Wakes [`Outbox::closed`] waiters.
    closing: Notify,
}

impl Outbox {
    /// An empty queue with `limits` on its data frames.
    pub fn new(limits: OutboxLimits) -> Outbox {
        Outbox {
            limits,
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            closing: Notify::new(),
        }
    }

    /// The limits on data frames.
    pub fn limits(&self) -> OutboxLimits {
        self.limits
    }

    /// Queues a data frame (text or binary), unless that would exceed either
    /// limit or the connection is closing. Frames the writer is still writing
    /// count too. A frame larger than `max_bytes` is accepted into an empty
    /// queue (a client that keeps up must never count as slow).
    pub fn push(&self, frame: Bytes) -> Push {
        {
            let mut st = self.state.lock();
            if st.closing() {
                return Push::Closed;
            }
            let messages = st.data.len() + st.writing;
            let bytes = st.data_bytes + st.writing_bytes;
            if messages > 0
                && (messages >= self.limits.max_messages
                    || bytes.saturating_add(frame.len()) > self.limits.max_bytes)
            {
                return Push::Full;
            }
            st.data_bytes += frame.len();
            st.data.push_back(frame);
        }
        self.ready.notify_one();
        Push::Queued
    }

    /// Queues a ping or pong ahead of the data frames, outside the data
    /// limits. At most [`MAX_CONTROL`] wait at once: past that, the oldest
    /// queued pong gives way to the new frame (answering the latest ping is
    /// enough, RFC 6455 section 5.5.3), or the new frame is dropped (`Full`).
    pub fn push_control(&self, frame: Bytes) -> Push {
        {
            let mut st = self.state.lock();
            if st.closing() {
                return Push::Closed;
            }
            if st.control.len() >= MAX_CONTROL {
                let Some(oldest_pong) = st.control.iter().position(is_pong) else {
                    return Push::Full;
                };
                st.control.remove(oldest_pong);
            }
            st.control.push_back(frame);
        }
        self.ready.notify_one();
        Push::Queued
    }

    /// Starts the closing handshake: the close frame goes out after what is
    /// already queued, and nothing more is accepted. Only the first close
    /// (this or [`close_now`](Self::close_now)) picks the code.
    pub fn close(&self, code: u16, reason: &str) {
        self.close_inner(code, reason, false);
    }

    /// Like [`close`](Self::close), but drops whatever is still queued so the
    /// close frame goes out next. After an earlier `close`, the first code
    /// stands and the data queued before it is dropped.
    pub fn close_now(&self, code: u16, reason: &str) {
        self.close_inner(code, reason, true);
    }

    fn close_inner(&self, code: u16, reason: &str, now: bool) {
        {
            let mut st = self.state.lock();
            if st.finished {
                return;
            }
            if now {
                st.discard_queued();
            }
            if st.closed_with.is_some() {
                return;
            }
            st.close_frame = Some(frame::close(code, reason));
            st.closed_with = Some((code, reason.to_owned()));
        }
        self.ready.notify_one();
        self.closing.notify_waiters();
    }

    /// Marks the connection gone without a close frame (the socket dropped):
    /// everything queued is dropped, pushes are refused, and the writer's
    /// [`next_batch`](Self::next_batch) returns `false`.
    pub fn disconnect(&self) {
        {
            let mut st = self.state.lock();
            st.discard_queued();
            st.close_frame = None;
            st.finished = true;
        }
        self.ready.notify_one();
        self.closing.notify_waiters();
    }

    /// Whether a close was requested (or the connection is gone).
    pub fn is_closing(&self) -> bool {
        self.state.lock().closing()
    }

    /// The code and reason of the close frame sent or to be sent, if any.
    pub fn close_reason(&self) -> Option<(u16, String)> {
        self.state.lock().closed_with.clone()
    }

    /// Waits until the outbox is closing (returns at once if it is).
    pub async fn closed(&self) {
        loop {
            let notified = self.closing.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closing() {
                return;
            }
            notified.await;
        }
    }

    /// Data frames waiting or being written.
    pub fn len(&self) -> usize {
        let st = self.state.lock();
        st.data.len() + st.writing
    }

    /// Whether no data frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of data frames waiting or being written.
    pub fn queued_bytes(&self) -> usize {
        let st = self.state.lock();
        st.data_bytes + st.writing_bytes
    }

    /// For the writer: waits until something is queued, then appends all of
    /// it to `out`, control frames first and the close frame last. Returns
    /// `false` (appending nothing) once the close frame has been handed out
    /// and nothing remains, or after [`disconnect`](Self::disconnect).
    pub async fn next_batch(&self, out: &mut Vec<Bytes>) -> bool {
        loop {
            if let Some(more) = self.try_next_batch(out) {
                return more;
            }
            // A push between the unlock and here leaves a permit, so this
            // cannot miss it.
            self.ready.notified().await;
        }
    }

    /// [`next_batch`](Self::next_batch) without waiting: `None` when nothing is queued.
    pub fn try_next_batch(&self, out: &mut Vec<Bytes>) -> Option<bool> {
        let mut st = self.state.lock();
        // Asking again means the previous batch is written.
        st.writing = 0;
        st.writing_bytes = 0;
        if st.finished {
            return Some(false);
        }
        let had = out.len();
        out.extend(st.control.drain(..));
        st.writing = st.data.len();
        st.writing_bytes = st.data_bytes;
        out.extend(st.data.drain(..));
        st.data_bytes = 0;
        if let Some(close) = st.close_frame.take() {
            out.push(close);
            st.finished = true;
        }
        (out.len() > had).then_some(true)
    }
}

fn is_pong(frame: &Bytes) -> bool {
    frame
        .first()
        .is_some_and(|b| b & 0x0f == Opcode::Pong.as_u8())
}

#[cfg(test)]
mod tests;
