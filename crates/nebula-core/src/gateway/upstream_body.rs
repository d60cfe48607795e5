//! A worker's answer body on its way to the client, and the request body on
//! its way to the worker.
//!
//! The answer streams frame by frame, cut off past `maxResponseBytes`. An
//! answer that takes more than one step is watched (one watchdog task per
//! worker, see `pool.rs`, not one per request): no frame passed on
//! for the timeout (the worker stalls, or the client stops reading and hyper
//! stops asking) closes the worker connection and ends the request's
//! in-flight count, so neither a slow worker nor a slow client holds a worker
//! forever. The request counts as in flight until the answer ends; the
//! connection goes back to the pool only when both bodies are done.
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::endpoint::InFlightGuard;
use super::pool::{Conn, Driver, Pool};
use crate::http::dynamic::{BoxError, RequestStream};

/// What the watchdog and the body share.
struct Shared {
    start: Instant,
    /// Milliseconds after `start` of the last frame passed on.
    last: AtomicU64,
    done: AtomicBool,
    in_flight: Mutex<Option<InFlightGuard>>,
    /// Closes the worker connection.
    close: Driver,
}

impl Shared {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }

    fn end(&self) {
        self.done.store(true, Ordering::Release);
        self.in_flight.lock().take();
    }
}

pub struct UpstreamBody {
    inner: Incoming,
    /// A frame already taken from `inner`, passed on first.
    first: Option<Frame<Bytes>>,
    idle_for: Duration,
    sent: u64,
    limit: Option<u64>,
    /// The connection and where it goes back, until the body ends.
    conn: Option<(Conn, Arc<Pool>)>,
    shared: Arc<Shared>,
    watching: bool,
}

impl UpstreamBody {
    pub fn new(
        inner: Incoming,
        first: Option<Frame<Bytes>>,
        idle_for: Duration,
        limit: Option<u64>,
        conn: (Conn, Arc<Pool>),
        in_flight: InFlightGuard,
    ) -> UpstreamBody {
        let shared = Arc::new(Shared {
            start: Instant::now(),
            last: AtomicU64::new(0),
            done: AtomicBool::new(false),
            in_flight: Mutex::new(Some(in_flight)),
            close: conn.0.driver.clone(),
        });
        let sent = first
            .as_ref()
            .and_then(Frame::data_ref)
            .map_or(0, |d| d.len() as u64);
        UpstreamBody {
            inner,
            first,
            idle_for,
            sent,
            limit,
            conn: Some(conn),
            shared,
            watching: false,
        }
    }

    fn done(&self) -> bool {
        self.shared.done.load(Ordering::Acquire)
    }

    fn finish(&mut self) {
        if let Some((conn, pool)) = self.conn.take() {
            pool.give(conn);
        }
        self.shared.end();
    }

    fn fail(&mut self, why: String) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        // The connection is in an unknown state: closed, not reused.
        if let Some((conn, _)) = self.conn.take() {
            conn.close();
        }
        self.shared.end();
        tracing::warn!(target: "nebula::gateway", "proxied answer cut off: {why}");
        Poll::Ready(Some(Err(std::io::Error::other(why))))
    }

    /// From the first step that does not end the answer on: watched by the
    /// pool's watchdog.
    fn watch(&mut self) {
        if self.watching {
            return;
        }
        self.watching = true;
        self.shared.touch();
        if let Some((_, pool)) = &self.conn {
            pool.watch(
                Arc::downgrade(&self.shared) as std::sync::Weak<dyn Stallable>,
                self.idle_for,
            );
        }
    }
}

/// What the pool's watchdog checks of an answer in progress.
pub trait Stallable: Send + Sync {
    /// True once the answer ended (or was cut off): no longer watched.
    fn ended(&self) -> bool;
    /// Cuts the answer off if nothing was passed on for `idle`; true if it did.
    fn cut_if_stalled(&self, idle: Duration) -> bool;
}

impl Stallable for Shared {
    fn ended(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    fn cut_if_stalled(&self, idle: Duration) -> bool {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        if self.start.elapsed().saturating_sub(last) < idle {
            return false;
        }
        tracing::warn!(target: "nebula::gateway",
            "proxied answer cut off: nothing passed on for {} ms (worker or client stalled)",
            idle.as_millis());
        self.close.close();
        self.end();
        true
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.conn.is_none() && this.done() {
            return Poll::Ready(None);
        }
        if let Some(frame) = this.first.take() {
            this.watch();
            this.shared.touch();
            return Poll::Ready(Some(Ok(frame)));
        }
        // Looked at first with a no-op waker: what the connection passes on
        // below would otherwise wake this very task, polled again for nothing.
        let mut noop = Context::from_waker(std::task::Waker::noop());
        let mut polled = Pin::new(&mut this.inner).poll_frame(&mut noop);
        if polled.is_pending() {
            // Nothing buffered: move the connection on (in this task, see
            // `pool.rs`), then look again.
            let closed = match &this.conn {
                Some((conn, _)) => conn.driver.poll(cx),
                None => false,
            };
            polled = Pin::new(&mut this.inner).poll_frame(cx);
            if closed && polled.is_pending() {
                return this.fail("the worker closed the connection".to_owned());
            }
        }
        match polled {
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => this.fail(format!("the worker's answer broke off: {e}")),
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += data.len() as u64;
                    if let Some(limit) = this.limit.filter(|l| this.sent > *l) {
                        return this.fail(format!("the worker's answer is over {limit} bytes"));
                    }
                }
                if this.inner.is_end_stream() {
                    this.finish();
                } else {
                    this.watch();
                    this.shared.touch();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                this.watch();
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && ((self.conn.is_none() && self.done()) || self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let first = self
            .first
            .as_ref()
            .and_then(Frame::data_ref)
            .map_or(0, |d| d.len() as u64);
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + first);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        if self.conn.is_some() {
            // An answer whose end was already seen (HEAD, 204) gives its
            // connection back; one dropped early closes it.
            if self.inner.is_end_stream() {
                self.finish();
            } else if let Some((conn, _)) = self.conn.take() {
                conn.close();
            }
        }
        self.shared.end();
    }
}

/// A request body that marks its connection's `sent` flag once it ended.
pub struct SentBody {
    inner: RequestStream,
    sent: Arc<AtomicBool>,
}

impl SentBody {
    pub fn new(inner: RequestStream, sent: Arc<AtomicBool>) -> SentBody {
        sent.store(inner.is_end_stream(), Ordering::Release);
        SentBody { inner, sent }
    }
}

impl Body for SentBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.sent.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
