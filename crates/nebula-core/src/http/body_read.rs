//! Reading a request body within its size and time limits.
//!
//! An oversized body is not simply abandoned: closing a socket that still has
//! unread data makes the kernel send a reset, which can destroy the 413 before
//! the client reads it. So the rest is read and thrown away, up to
//! [`DRAIN_BUDGET`] bytes, and the 413 says `Connection: close`.
use std::pin::pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::header::{HeaderValue, CONNECTION};
use hyper::StatusCode;
use tokio::time::Instant;

use crate::kernel::Reply;

/// Bytes beyond the limit read and discarded so the 413 reaches the client
/// (larger uploads are cut off: the client may then see a reset).
pub const DRAIN_BUDGET: u64 = 8 * 1024 * 1024;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    TooLarge { limit: usize },
    Timeout,
    Read(String),
}

impl BodyError {
    /// The JSON reply the client gets.
    pub fn into_reply(self) -> Reply {
        match self {
            BodyError::TooLarge { limit } => {
                let mut reply = Reply::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("request body is larger than the limit of {limit} bytes"),
                );
                reply
                    .headers
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                reply
            }
            BodyError::Timeout => Reply::error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            ),
            BodyError::Read(e) => Reply::error(
                StatusCode::BAD_REQUEST,
                &format!("could not read the request body: {e}"),
            ),
        }
    }
}

/// Reads the whole body if it is at most `limit` bytes and arrives within `timeout`.
pub async fn read_limited<B>(
    body: B,
    declared: Option<u64>,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if body.is_end_stream() {
        // No body at all (a GET, say): nothing to wait for, no timer to set.
        return Ok(Bytes::new());
    }
    let deadline = Instant::now() + timeout;
    let mut body = pin!(body);
    if let Some(n) = declared.filter(|n| *n > limit as u64) {
        if n <= limit as u64 + DRAIN_BUDGET {
            drain(body.as_mut(), deadline).await;
        }
        return Err(BodyError::TooLarge { limit });
    }
    let read = async {
        let mut first: Option<Bytes> = None;
        let mut rest: Option<BytesMut> = None;
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Read(e.into().to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            total += data.len();
            if total > limit {
                return Err(BodyError::TooLarge { limit });
            }
            match (&mut first, &mut rest) {
                (None, _) => first = Some(data),
                (Some(f), None) => {
                    let mut joined = BytesMut::with_capacity(total);
                    joined.extend_from_slice(f);
                    joined.extend_from_slice(&data);
                    rest = Some(joined);
                }
                (Some(_), Some(r)) => r.extend_from_slice(&data),
            }
        }
        Ok(match (first, rest) {
            (_, Some(r)) => r.freeze(),
            (Some(f), None) => f,
            (None, None) => Bytes::new(),
        })
    };
    match tokio::time::timeout_at(deadline, read).await {
        Ok(Err(BodyError::TooLarge { limit })) => {
            drain(body.as_mut(), deadline).await;
            Err(BodyError::TooLarge { limit })
        }
        Ok(result) => result,
        Err(_) => Err(BodyError::Timeout),
    }
}

/// Reads and discards up to [`DRAIN_BUDGET`] bytes, until the deadline at most.
async fn drain<B>(mut body: std::pin::Pin<&mut B>, deadline: Instant)
where
    B: http_body::Body<Data = Bytes>,
{
    let discard = async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len() as u64;
                if seen > DRAIN_BUDGET {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout_at(deadline, discard).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;

    fn chunks(
        parts: &[&'static str],
    ) -> impl http_body::Body<Data = Bytes, Error = std::io::Error> {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = parts
            .iter()
            .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    const T: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn joins_chunks_within_the_limit() {
        let b = read_limited(chunks(&["ab", "cd", "e"]), None, 5, T).await;
        assert_eq!(b.unwrap(), "abcde");
    }

    #[tokio::test]
    async fn one_chunk_is_passed_through() {
        let b = read_limited(Full::new(Bytes::from_static(b"xyz")), Some(3), 3, T).await;
        assert_eq!(b.unwrap(), "xyz");
    }

    #[tokio::test]
    async fn growing_past_the_limit_is_too_large_and_the_rest_is_drained() {
        let b = read_limited(chunks(&["abc", "def", "ghi"]), None, 5, T).await;
        assert_eq!(b.unwrap_err(), BodyError::TooLarge { limit: 5 });
    }

    #[tokio::test]
    async fn declared_length_over_the_limit_is_refused_before_reading() {
        let b = read_limited(Full::new(Bytes::from_static(b"123456")), Some(6), 5, T).await;
        assert_eq!(b.unwrap_err(), BodyError::TooLarge { limit: 5 });
    }

    #[tokio::test]
    async fn too_large_reply_closes_the_connection() {
        let reply = BodyError::TooLarge { limit: 5 }.into_reply();
        assert_eq!(reply.status, 413);
        assert_eq!(reply.headers[CONNECTION], "close");
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out() {
        let pending = StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, std::io::Error>,
        >());
        let b = read_limited(pending, None, 5, Duration::from_millis(20)).await;
        assert_eq!(b.unwrap_err(), BodyError::Timeout);
    }
}
