//! The loop server: HTTP/1 served on the thread that turns it (Node's),
//! with no hand-off to another thread. Its sockets live in one `mio` poll
//! whose fd the owner watches (the binding: `uv_poll` on Node's event loop);
//! when the fd is readable the owner calls [`LoopServer::turn`], which reads
//! what arrived, runs each request's answer (routes, native layers, the
//! JavaScript call) as a future polled right there, and writes every answer
//! ready with one write per connection.
//!
//! Futures that wait (JavaScript's answer, a Redis reply, a timer) wake the
//! server through its [`WakeQueue`](super::wake::WakeQueue), which makes the
//! poll fd readable again. Everything the fast path does not serve goes to
//! hyper on the tokio runtime (`handoff.rs`).
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hyper::server::conn::http1;
use mio::net::TcpListener;
use mio::{Events, Interest, Token};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Sleep;

use super::codec::DateCache;
use super::conn::{Conn, Read1, PIPELINE_MAX};
use super::handoff::{finish, Leftover};
use super::wake::{WakeId, WakeQueue, SERVER};
use crate::http::server::{http1_builder, ServerHandle};
use crate::http::Service;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Connection `i` is `Token(i + FIRST)`.
const FIRST: usize = 2;

/// Whether the server still runs after a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Open,
    /// Stopped: the owner stops watching [`LoopServer::fd`] and drops it.
    Closed,
}

struct Entry {
    conn: Conn,
    /// More bytes may wait in the socket (the last read filled its buffer).
    unread: bool,
    /// The peer shut its write side (read until the EOF).
    hup: bool,
}

pub struct LoopServer {
    poll: mio::Poll,
    events: Events,
    listener: Option<TcpListener>,
    conns: Vec<Option<Entry>>,
    /// Per slot of `conns`: bumped when a connection there closes, so that
    /// wakes meant for it are ignored.
    gens: Vec<u32>,
    free: Vec<usize>,
    /// Open connections, the loop's and those handed to hyper.
    open: Arc<AtomicUsize>,
    accept_paused: bool,
    service: Arc<Service>,
    rt: tokio::runtime::Handle,
    wakes: Arc<WakeQueue>,
    server_waker: Waker,
    stop: watch::Receiver<Option<Duration>>,
    stop_deadline: Option<Pin<Box<Sleep>>>,
    ended: Option<oneshot::Sender<()>>,
    handoffs: JoinSet<()>,
    sweep: Option<Pin<Box<Sleep>>>,
    date: DateCache,
    builder: Arc<http1::Builder>,
    // Reused per turn.
    ready: Vec<(usize, bool, bool, bool)>,
    woken: Vec<WakeId>,
    dirty: Vec<usize>,
}

impl LoopServer {
    /// Binds `host:port` (port 0 picks a free one). `rt` runs what the loop
    /// hands over (hyper's connections) and the timers its futures use.
    pub fn bind(
        service: Arc<Service>,
        host: &str,
        port: u16,
        rt: tokio::runtime::Handle,
    ) -> io::Result<(LoopServer, ServerHandle)> {
        let named = |e: io::Error| {
            io::Error::new(e.kind(), format!("could not listen on {host}:{port}: {e}"))
        };
        let mut last = None;
        let mut bound = None;
        for addr in (host, port).to_socket_addrs().map_err(named)? {
            match TcpListener::bind(addr) {
                Ok(l) => {
                    bound = Some(l);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let mut listener = match (bound, last) {
            (Some(l), _) => l,
            (None, Some(e)) => return Err(named(e)),
            (None, None) => return Err(named(io::ErrorKind::AddrNotAvailable.into())),
        };
        let addr: SocketAddr = listener.local_addr()?;
        let poll = mio::Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let wakes = WakeQueue::new(mio::Waker::new(poll.registry(), WAKER)?);
        let (stop_tx, stop_rx) = watch::channel(None);
        let (ended_tx, ended_rx) = oneshot::channel();
        let poke = wakes.clone();
        let handle = ServerHandle::signalled(
            addr,
            stop_tx,
            ended_rx,
            Box::new(move || poke.push((SERVER, 0))),
        );
        let builder = Arc::new(http1_builder(service.config()));
        let server = LoopServer {
            poll,
            events: Events::with_capacity(256),
            listener: Some(listener),
            conns: Vec::new(),
            gens: Vec::new(),
            free: Vec::new(),
            open: Arc::new(AtomicUsize::new(0)),
            accept_paused: false,
            service,
            rt,
            server_waker: wakes.waker((SERVER, 0)),
            wakes,
            stop: stop_rx,
            stop_deadline: None,
            ended: Some(ended_tx),
            handoffs: JoinSet::new(),
            sweep: None,
            date: DateCache::default(),
            builder,
            ready: Vec::new(),
            woken: Vec::new(),
            dirty: Vec::new(),
        };
        Ok((server, handle))
    }

    /// The fd to watch: readable when the server has work.
    pub fn fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }

    /// Does the work that arrived, without blocking.
    pub fn turn(&mut self) -> Turn {
        if self.ended.is_none() {
            return Turn::Closed;
        }
        let rt = self.rt.clone();
        let _runtime = rt.enter();
        let _turning = super::wake::Turning::start();
        let now = Instant::now();
        if let Err(e) = self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::error!(error = %e, "loop server: poll failed");
            }
        }
        let mut ready = std::mem::take(&mut self.ready);
        ready.extend(self.events.iter().map(|ev| {
            (
                ev.token().0,
                ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                ev.is_writable() || ev.is_error(),
                ev.is_read_closed(),
            )
        }));
        for (token, readable, writable, hup) in ready.drain(..) {
            match Token(token) {
                LISTENER => self.accept(),
                WAKER => {}
                _ => {
                    let i = token - FIRST;
                    if readable {
                        self.drive(i, true, hup, now);
                    } else if writable {
                        self.dirty.push(i);
                    }
                }
            }
        }
        self.ready = ready;
        let mut woken = std::mem::take(&mut self.woken);
        self.wakes.take(&mut woken);
        for (i, gen) in woken.drain(..) {
            if i != SERVER && self.gens.get(i) == Some(&gen) {
                self.drive(i, false, false, now);
            }
        }
        self.woken = woken;
        self.settle_dirty();
        self.housekeeping(now);
        if self.ended.is_none() {
            Turn::Closed
        } else {
            Turn::Open
        }
    }

    /// Stops at once (the environment is exiting): every connection closes,
    /// handed-over ones are aborted, and the handle's stop returns.
    pub fn close_now(&mut self) {
        let rt = self.rt.clone();
        let _runtime = rt.enter();
        self.end();
    }

    fn accept(&mut self) {
        let max = self.service.config().max_connections.max(1);
        loop {
            if self.open.load(Ordering::Acquire) >= max {
                self.accept_paused = true;
                return;
            }
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => self.add(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_paused = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of file descriptors and similar: retried at the next sweep.
                    tracing::warn!(error = %e, "accept failed");
                    self.accept_paused = true;
                    self.arm_sweep();
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut stream: mio::net::TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let i = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.gens.push(0);
            self.conns.len() - 1
        });
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(i + FIRST), interest)
        {
            tracing::warn!(error = %e, "loop server: could not watch a connection");
            self.free.push(i);
            return;
        }
        let waker = self.wakes.waker((i, self.gens[i]));
        self.conns[i] = Some(Entry {
            conn: Conn::new(stream, Some(peer.ip()), waker),
            unread: true,
            hup: false,
        });
        self.open.fetch_add(1, Ordering::AcqRel);
    }

    /// Reads (when `readable`), parses, polls and renders connection `i` as
    /// far as it goes now; its writes wait for [`LoopServer::settle_dirty`].
    fn drive(&mut self, i: usize, readable: bool, hup: bool, now: Instant) {
        let Some(entry) = self.conns.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        if readable {
            entry.unread = true;
        }
        entry.hup |= hup;
        let conn = &mut entry.conn;
        let mut failed = false;
        loop {
            conn.poll_slots();
            conn.render(&mut self.date);
            if conn.handoff || conn.close_after || conn.slots.len() >= PIPELINE_MAX {
                break;
            }
            let before = conn.slots.len();
            conn.parse(&self.service, now);
            if conn.slots.len() > before || conn.handoff {
                continue;
            }
            if entry.unread && !conn.read_closed {
                match conn.read() {
                    // A short read drained the socket, unless the peer also
                    // shut its side: its EOF is read next (no new edge comes).
                    Read1::Data { more } => entry.unread = more || entry.hup,
                    Read1::Eof | Read1::Nothing => entry.unread = false,
                    Read1::Failed => {
                        failed = true;
                        break;
                    }
                }
                continue;
            }
            // Nothing more to read now. A request whose body is still on
            // its way (or cut short by the client's EOF) goes to hyper,
            // which waits for it within bodyTimeout and answers as the
            // threads mode does.
            if !conn.inbuf.is_empty() && (conn.read_closed || !conn.partial_head) {
                conn.handoff = true;
            }
            break;
        }
        if failed {
            self.close(i);
            return;
        }
        if conn.partial_since.is_some() && self.sweep.is_none() {
            self.arm_sweep();
        }
        self.dirty.push(i);
    }

    /// Writes, hands over or closes the connections touched this turn.
    fn settle_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for i in dirty.drain(..) {
            let Some(entry) = self.conns.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            let conn = &mut entry.conn;
            if conn.handoff {
                self.hand_off(i);
                continue;
            }
            match conn.flush() {
                Err(_) => self.close(i),
                Ok(_) if conn.done() => self.close(i),
                Ok(_) => {}
            }
        }
        self.dirty = dirty;
    }

    fn hand_off(&mut self, i: usize) {
        let Some(Entry { mut conn, .. }) = self.take(i) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        // SAFETY: the fd is mio's own, given up here; the std stream owns it from now on.
        let stream = unsafe { std::net::TcpStream::from_raw_fd(conn.stream.into_raw_fd()) };
        let out = conn.out.split_off(conn.written);
        let left = Leftover {
            stream,
            peer: conn.peer,
            out,
            slots: std::mem::take(&mut conn.slots),
            inbuf: std::mem::replace(&mut conn.inbuf, BytesMut::new()),
            close: conn.close_after,
        };
        self.handoffs.spawn_on(
            finish(
                left,
                self.service.clone(),
                self.builder.clone(),
                self.stop.clone(),
                self.open.clone(),
            ),
            &self.rt,
        );
    }

    /// Takes connection `i` out of the table (its wakes are ignored from now on).
    fn take(&mut self, i: usize) -> Option<Entry> {
        let entry = self.conns.get_mut(i)?.take()?;
        self.gens[i] = self.gens[i].wrapping_add(1);
        self.free.push(i);
        Some(entry)
    }

    fn close(&mut self, i: usize) {
        if let Some(mut entry) = self.take(i) {
            let _ = self.poll.registry().deregister(&mut entry.conn.stream);
            drop(entry);
            self.open.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn arm_sweep(&mut self) {
        let period = (self.service.config().header_timeout / 4)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        self.sweep = Some(Box::pin(tokio::time::sleep(period)));
    }

    /// The stop, the timeouts of requests arriving too slowly, a paused accept.
    fn housekeeping(&mut self, now: Instant) {
        let waker = self.server_waker.clone();
        let mut cx = Context::from_waker(&waker);
        if self.stop_deadline.is_none() {
            let asked = match self.stop.has_changed() {
                Ok(true) => *self.stop.borrow_and_update(),
                Ok(false) => None,
                // The handle is gone: stop as its drop would.
                Err(_) => Some(Duration::MAX),
            };
            if let Some(grace) = asked {
                self.begin_stop(grace);
            }
        }
        if let Some(deadline) = self.stop_deadline.as_mut() {
            if deadline.as_mut().poll(&mut cx).is_ready() {
                let busy = self.open.load(Ordering::Acquire);
                if busy > 0 {
                    tracing::warn!("stop: {busy} connection(s) still busy at the deadline, closed");
                }
                self.end();
                return;
            }
            while let Poll::Ready(Some(_)) = self.handoffs.poll_join_next(&mut cx) {}
            if self.conns.iter().all(Option::is_none) && self.handoffs.is_empty() {
                self.end();
                return;
            }
        } else {
            while self.handoffs.try_join_next().is_some() {}
        }
        if let Some(sweep) = self.sweep.as_mut() {
            if sweep.as_mut().poll(&mut cx).is_ready() {
                self.sweep = None;
                self.expire(now);
            }
        }
        if self.accept_paused && self.stop_deadline.is_none() {
            self.accept();
        }
    }

    /// Closes the connections whose request head is late (a body that is
    /// late is hyper's: see `drive`).
    fn expire(&mut self, now: Instant) {
        let limit = self.service.config().header_timeout;
        let mut pending = false;
        for i in 0..self.conns.len() {
            let Some(since) = self.conns[i].as_ref().and_then(|e| e.conn.partial_since) else {
                continue;
            };
            if now.saturating_duration_since(since) < limit {
                pending = true;
            } else {
                self.close(i);
            }
        }
        if pending || self.accept_paused {
            self.arm_sweep();
        }
    }

    fn begin_stop(&mut self, grace: Duration) {
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let limit = self.service.config().shutdown_timeout.min(grace);
        let limit = limit.min(Duration::from_secs(60 * 60 * 24 * 365));
        self.stop_deadline = Some(Box::pin(tokio::time::sleep(limit)));
        for i in 0..self.conns.len() {
            let Some(entry) = self.conns[i].as_mut() else {
                continue;
            };
            if entry.conn.idle() {
                self.close(i);
            } else {
                // Answer what is in flight, read nothing more, then close.
                entry.conn.close_after = true;
            }
        }
    }

    /// Closes everything and tells the handle the server has ended.
    fn end(&mut self) {
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        for i in 0..self.conns.len() {
            self.close(i);
        }
        self.handoffs.abort_all();
        self.sweep = None;
        self.stop_deadline = None;
        if let Some(ended) = self.ended.take() {
            let _ = ended.send(());
        }
    }
}

impl Drop for LoopServer {
    fn drop(&mut self) {
        let rt = self.rt.clone();
        let _runtime = rt.enter();
        self.end();
    }
}
