//! One connection of the loop server: bytes in, requests parsed, their
//! answers in request order, bytes out. Reads and writes are plain
//! non-blocking syscalls: one read per readiness (more only when the buffer
//! filled up), one write per turn for every answer ready.
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http_body::Body as _;
use http_body_util::{Either, Full};
use hyper::Response;

use super::codec::{self, DateCache, Meta, Parsed};
use crate::http::body::Body;
use crate::http::Service;

/// A request's answer on its way.
pub(super) type ResponseFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// Requests read ahead of their answers on one connection (pipelining).
pub(super) const PIPELINE_MAX: usize = 16;
/// What one read asks for at most.
const READ_CHUNK: usize = 16 * 1024;

/// A request in order: its answer running, or ready to be written.
pub(super) enum Slot {
    Running(ResponseFuture, Meta),
    Done(Response<Body>, Meta),
}

pub(super) struct Conn {
    pub stream: mio::net::TcpStream,
    pub peer: Option<IpAddr>,
    /// Wakes this connection's answers (see `wake.rs`).
    pub waker: Waker,
    pub inbuf: BytesMut,
    pub out: Vec<u8>,
    /// Bytes of `out` already written.
    pub written: usize,
    pub slots: VecDeque<Slot>,
    /// The client shut its write side: answer what was asked, then close.
    pub read_closed: bool,
    /// No more requests from this connection: close once answered.
    pub close_after: bool,
    /// Hyper takes the connection (see `handoff.rs`).
    pub handoff: bool,
    /// When the request now arriving started (None between requests).
    pub partial_since: Option<Instant>,
    /// That request's head is still incomplete (else its body is).
    pub partial_head: bool,
}

/// What one read found.
pub(super) enum Read1 {
    /// Bytes arrived; `more` when the read filled its buffer (read again).
    Data {
        more: bool,
    },
    Eof,
    Nothing,
    Failed,
}

impl Conn {
    pub fn new(stream: mio::net::TcpStream, peer: Option<IpAddr>, waker: Waker) -> Conn {
        Conn {
            stream,
            peer,
            waker,
            inbuf: BytesMut::new(),
            out: Vec::new(),
            written: 0,
            slots: VecDeque::new(),
            read_closed: false,
            close_after: false,
            handoff: false,
            partial_since: None,
            partial_head: false,
        }
    }

    /// One read into the input buffer.
    pub fn read(&mut self) -> Read1 {
        if self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK / 2 {
            self.inbuf.reserve(READ_CHUNK);
        }
        let start = self.inbuf.len();
        let spare = self.inbuf.spare_capacity_mut();
        let room = spare.len();
        // SAFETY: `read` writes at most `room` bytes into the buffer's spare
        // capacity, and only the bytes it reports are marked initialized.
        let got = unsafe { libc::read(self.stream.as_raw_fd(), spare.as_mut_ptr().cast(), room) };
        match got {
            0 => {
                self.read_closed = true;
                Read1::Eof
            }
            n if n > 0 => {
                let n = n as usize;
                // SAFETY: the kernel initialized these `n` bytes (n <= room).
                unsafe { self.inbuf.set_len(start + n) };
                Read1::Data { more: n == room }
            }
            _ => match io::Error::last_os_error().kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Read1::Nothing,
                _ => Read1::Failed,
            },
        }
    }

    /// Takes the whole requests out of the buffer and starts their answers.
    pub fn parse(&mut self, service: &Arc<Service>, now: Instant) {
        let max_headers = service.config().max_headers;
        while !self.close_after && !self.handoff && self.slots.len() < PIPELINE_MAX {
            match codec::parse(&mut self.inbuf, max_headers) {
                Parsed::Partial { head } => {
                    if self.inbuf.is_empty() {
                        self.partial_since = None;
                    } else {
                        self.partial_since.get_or_insert(now);
                        self.partial_head = !head;
                    }
                    return;
                }
                Parsed::Request(req, meta) => {
                    self.partial_since = None;
                    if meta.close {
                        self.close_after = true;
                    }
                    let svc = service.clone();
                    let peer = self.peer;
                    let answer: ResponseFuture =
                        Box::pin(async move { svc.handle_from(req, peer).await });
                    self.slots.push_back(Slot::Running(answer, meta));
                }
                Parsed::HandOff => self.handoff = true,
            }
        }
    }

    /// Polls the answers still running.
    pub fn poll_slots(&mut self) {
        let waker = self.waker.clone();
        let mut cx = Context::from_waker(&waker);
        for slot in self.slots.iter_mut() {
            if let Slot::Running(answer, meta) = slot {
                if let Poll::Ready(res) = answer.as_mut().poll(&mut cx) {
                    *slot = Slot::Done(res, *meta);
                }
            }
        }
    }

    /// Renders the ready answers at the front, in order. A streamed answer
    /// stops here: hyper's side writes it (`handoff`).
    pub fn render(&mut self, date: &mut DateCache) {
        while let Some(Slot::Done(res, _)) = self.slots.front() {
            if matches!(res.body(), Either::Right(_)) {
                self.handoff = true;
                return;
            }
            let Some(Slot::Done(res, meta)) = self.slots.pop_front() else {
                return;
            };
            let (parts, body) = res.into_parts();
            let bytes = match body {
                Either::Left(full) => whole(full),
                Either::Right(_) => Bytes::new(),
            };
            if codec::render(&parts, &bytes, meta, date, &mut self.out) {
                // The answer closes the connection: requests read after it are dropped.
                self.close_after = true;
                self.slots.clear();
                self.inbuf.clear();
                return;
            }
        }
    }

    /// Writes what is pending (one write); true when nothing is left.
    pub fn flush(&mut self) -> io::Result<bool> {
        while self.written < self.out.len() {
            match (&self.stream).write(&self.out[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.written = 0;
        Ok(true)
    }

    /// Nothing in flight and nothing to write.
    pub fn idle(&self) -> bool {
        self.slots.is_empty() && self.out.is_empty()
    }

    /// Answered everything it will be asked: close it.
    pub fn done(&self) -> bool {
        self.idle() && (self.close_after || self.read_closed)
    }
}

/// The bytes of a whole-in-memory body (one frame, ready at once).
pub(super) fn whole(mut full: Full<Bytes>) -> Bytes {
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(&mut full).poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}
