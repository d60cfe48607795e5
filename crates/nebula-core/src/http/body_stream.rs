//! A request body passed on as it arrives (to a gateway worker), cut off at
//! the body limit, and failed with [`Stalled`] when the client sends nothing
//! for the body timeout. Past the limit the rest is read and thrown away (up to
//! [`DRAIN_BUDGET`] bytes) before the stream fails with [`TooLarge`], so the
//! 413 reaches a client that is still uploading instead of a reset.
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::body_read::DRAIN_BUDGET;
use super::dynamic::BoxError;

/// The stream's error once the body is over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub limit: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request body is larger than the limit of {} bytes",
            self.limit
        )
    }
}

impl std::error::Error for TooLarge {}

/// The stream's error when the client sent nothing for the body timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stalled;

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body stalled")
    }
}

impl std::error::Error for Stalled {}

pub struct LimitedStream<B> {
    inner: Pin<Box<B>>,
    limit: usize,
    /// Longest wait for the next bytes; the timer exists once one was awaited.
    idle_for: std::time::Duration,
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    seen: u64,
    over: bool,
    done: bool,
}

impl<B> LimitedStream<B> {
    pub fn new(inner: B, limit: usize, idle_for: std::time::Duration) -> LimitedStream<B> {
        LimitedStream {
            inner: Box::pin(inner),
            limit,
            idle_for,
            idle: None,
            seen: 0,
            over: false,
            done: false,
        }
    }

    fn too_large(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.done = true;
        Poll::Ready(Some(Err(Box::new(TooLarge { limit: self.limit }))))
    }
}

impl<B> Body for LimitedStream<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match this.inner.as_mut().poll_frame(cx) {
                Poll::Pending => {
                    let idle_for = this.idle_for;
                    let timer = this
                        .idle
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle_for)));
                    if std::future::Future::poll(timer.as_mut(), cx).is_ready() {
                        this.done = true;
                        return Poll::Ready(Some(Err(Box::new(Stalled))));
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) if this.over => return this.too_large(),
                Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(_))) if this.over => return this.too_large(),
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(d) = frame.data_ref() {
                        this.seen += d.len() as u64;
                    }
                    if let Some(timer) = this.idle.as_mut() {
                        let next = tokio::time::Instant::now() + this.idle_for;
                        timer.as_mut().reset(next);
                    }
                    if this.over {
                        if this.seen > this.limit as u64 + DRAIN_BUDGET {
                            return this.too_large();
                        }
                        continue; // thrown away
                    }
                    if this.seen > this.limit as u64 {
                        this.over = true;
                        continue;
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || (!self.over && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.over {
            SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn chunks(parts: Vec<&'static str>) -> impl Body<Data = Bytes, Error = std::io::Error> {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = parts
            .into_iter()
            .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    const T: std::time::Duration = std::time::Duration::from_secs(5);

    #[tokio::test]
    async fn a_client_that_stops_sending_stalls_the_stream() {
        let pending = StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, std::io::Error>,
        >());
        let mut body = LimitedStream::new(pending, 10, std::time::Duration::from_millis(20));
        let err = body
            .frame()
            .await
            .and_then(|f| f.err())
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("the request body stalled"));
    }

    #[tokio::test]
    async fn within_the_limit_everything_passes() {
        let body = LimitedStream::new(chunks(vec!["ab", "cd"]), 4, T);
        assert_eq!(
            body.collect().await.map(|c| c.to_bytes()).ok(),
            Some(Bytes::from("abcd"))
        );
    }

    #[tokio::test]
    async fn past_the_limit_the_rest_is_read_then_the_stream_fails() {
        let mut body = LimitedStream::new(chunks(vec!["ab", "cd", "ef", "gh"]), 3, T);
        let first = body
            .frame()
            .await
            .and_then(|f| f.ok())
            .and_then(|f| f.into_data().ok());
        assert_eq!(first, Some(Bytes::from("ab")));
        let err = body
            .frame()
            .await
            .and_then(|f| f.err())
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("request body is larger than the limit of 3 bytes")
        );
        assert_eq!(body.seen, 8, "the rest was read and thrown away");
        assert!(body.frame().await.is_none());
    }
}
