//! A worker's answer body on its way to the client: streamed frame by
//! frame, cut off when the worker stalls longer than the timeout or sends
//! more than the limit. The request counts as in flight until the body ends
//! (a draining worker is waited for); a body read to its end gives the
//! connection back to the pool.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::endpoint::InFlightGuard;
use super::pool::{Pool, Sender};

pub struct UpstreamBody {
    inner: Incoming,
    /// Resets on every frame.
    idle: Pin<Box<tokio::time::Sleep>>,
    idle_for: Duration,
    sent: u64,
    limit: Option<u64>,
    /// The connection and where it goes back, until the body ends.
    sender: Option<(Sender, Arc<Pool>)>,
    _in_flight: Option<InFlightGuard>,
    done: bool,
}

impl UpstreamBody {
    pub fn new(
        inner: Incoming,
        idle_for: Duration,
        limit: Option<u64>,
        sender: (Sender, Arc<Pool>),
        in_flight: InFlightGuard,
    ) -> UpstreamBody {
        UpstreamBody {
            inner,
            idle: Box::pin(tokio::time::sleep(idle_for)),
            idle_for,
            sent: 0,
            limit,
            sender: Some(sender),
            _in_flight: Some(in_flight),
            done: false,
        }
    }

    fn finish(&mut self) {
        self.done = true;
        if let Some((sender, pool)) = self.sender.take() {
            pool.give(sender);
        }
        self._in_flight = None;
    }

    fn fail(&mut self, why: String) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.done = true;
        // The connection is in an unknown state: dropped, not reused.
        self.sender = None;
        self._in_flight = None;
        tracing::warn!(target: "nebula::gateway", "proxied answer cut off: {why}");
        Poll::Ready(Some(Err(std::io::Error::other(why))))
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
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => this.fail(format!("the worker's answer broke off: {e}")),
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += data.len() as u64;
                    if this.limit.is_some_and(|l| this.sent > l) {
                        let limit = this.limit.unwrap_or_default();
                        return this.fail(format!("the worker's answer is over {limit} bytes"));
                    }
                }
                let deadline = tokio::time::Instant::now() + this.idle_for;
                this.idle.as_mut().reset(deadline);
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => match this.idle.as_mut().poll(cx) {
                Poll::Ready(()) => this.fail(format!(
                    "the worker sent nothing for {} ms",
                    this.idle_for.as_millis()
                )),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // An answer whose end was already seen gives its connection back.
        if !self.done && self.inner.is_end_stream() {
            self.finish();
        }
    }
}
