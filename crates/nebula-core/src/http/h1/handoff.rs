//! A connection the loop's fast path does not serve goes to hyper, on the
//! tokio runtime: an upgrade (the hub's WebSocket), a chunked or large
//! body, `Expect`, HTTP/1.0, a head hyper must refuse, or a streamed
//! answer (large static files, streamed actions). The task first writes
//! what the loop had not written yet, then the answers already started,
//! in order, then hyper reads on from the bytes the loop had buffered.
use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Either};
use hyper::server::conn::http1;
use hyper::Response;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::codec::{self, DateCache, Meta};
use super::conn::{whole, Slot};
use crate::http::body::Body;
use crate::http::server::serve;
use crate::http::Service;

/// What the loop hands over with the socket.
pub(super) struct Leftover {
    pub stream: std::net::TcpStream,
    pub peer: Option<IpAddr>,
    /// Bytes the loop rendered and had not written yet.
    pub out: Vec<u8>,
    /// Answers in request order (running or ready).
    pub slots: VecDeque<Slot>,
    /// Bytes read and not parsed yet (hyper reads them first).
    pub inbuf: BytesMut,
    /// Close after the answers (the client asked, or shut its write side).
    pub close: bool,
}

/// Finishes a handed-over connection; `open` counts it until it ends.
pub(super) async fn finish(
    left: Leftover,
    service: Arc<Service>,
    builder: Arc<http1::Builder>,
    stop: watch::Receiver<Option<Duration>>,
    open: Arc<AtomicUsize>,
) {
    struct Open(Arc<AtomicUsize>);
    impl Drop for Open {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let _open = Open(open);
    let Leftover {
        stream,
        peer,
        out,
        slots,
        inbuf,
        close,
    } = left;
    let mut io = match TcpStream::from_std(stream) {
        Ok(io) => io,
        Err(e) => {
            tracing::debug!(error = %e, "hand-off: the socket could not join the runtime");
            return;
        }
    };
    match answers(&mut io, out, slots).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::debug!(error = %e, "hand-off: writing the answers failed");
            return;
        }
    }
    if close {
        let _ = io.shutdown().await;
        return;
    }
    // The few bytes read ahead are copied out: the loop's 16 KiB read buffer
    // must not live as long as the connection (a hub client's, hours).
    let io = Rewind {
        pre: Bytes::copy_from_slice(&inbuf),
        io,
    };
    drop(inbuf);
    serve(&builder, TokioIo::new(io), service, peer, stop).await;
}

/// Writes `out`, then every answer in order; false when one of them closes the connection.
async fn answers(io: &mut TcpStream, out: Vec<u8>, slots: VecDeque<Slot>) -> io::Result<bool> {
    io.write_all(&out).await?;
    let mut date = DateCache::default();
    for slot in slots {
        let (res, meta) = match slot {
            Slot::Running(answer, meta) => (answer.await, meta),
            Slot::Done(res, meta) => (res, meta),
        };
        if write_answer(io, res, meta, &mut date).await? {
            let _ = io.shutdown().await;
            return Ok(false);
        }
    }
    Ok(true)
}

/// Writes one answer (a streamed body chunked, unless its length is
/// declared); true when the connection must close after it.
async fn write_answer(
    io: &mut TcpStream,
    res: Response<Body>,
    meta: Meta,
    date: &mut DateCache,
) -> io::Result<bool> {
    let (mut parts, body) = res.into_parts();
    let mut stream = match body {
        Either::Left(full) => {
            let mut buf = Vec::new();
            let close = codec::render(&parts, &whole(full), meta, date, &mut buf);
            io.write_all(&buf).await?;
            return Ok(close);
        }
        Either::Right(stream) => stream,
    };
    let declared = parts.headers.contains_key(hyper::header::CONTENT_LENGTH);
    if !declared {
        parts.headers.insert(
            hyper::header::TRANSFER_ENCODING,
            hyper::header::HeaderValue::from_static("chunked"),
        );
    }
    let mut head = Vec::new();
    let close = codec::render_head(&parts, None, meta, date, &mut head);
    io.write_all(&head).await?;
    if meta.head_only || codec::bodiless(parts.status) {
        return Ok(close);
    }
    while let Some(frame) = stream.frame().await {
        let frame = frame?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers: not sent
        };
        if data.is_empty() {
            continue;
        }
        if declared {
            io.write_all(&data).await?;
        } else {
            let size = format!("{:x}\r\n", data.len());
            io.write_all(size.as_bytes()).await?;
            io.write_all(&data).await?;
            io.write_all(b"\r\n").await?;
        }
    }
    if !declared {
        io.write_all(b"0\r\n\r\n").await?;
    }
    Ok(close)
}

/// The socket, with the bytes the loop had already read served first.
struct Rewind {
    pre: Bytes,
    io: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.pre.is_empty() {
            let n = self.pre.len().min(buf.remaining());
            buf.put_slice(&self.pre[..n]);
            self.pre.advance(n);
            if self.pre.is_empty() {
                self.pre = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
