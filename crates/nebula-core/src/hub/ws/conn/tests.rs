//! Tests of a connection over an in-memory duplex: a test client writes
//! masked frames and reads the server's; the handler echoes.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{duplex, DuplexStream};

use super::*;
use crate::hub::ws::outbox::{OutboxLimits, Push};
use crate::hub::ws::test_frames::{self as tf, take_server_frame, ClientFrame};

mod closing;
mod errors;

/// Sends every message back on the outbox.
struct Echo(Arc<Outbox>);

impl MessageHandler for Echo {
    fn on_text(&self, text: Bytes) {
        assert!(std::str::from_utf8(&text).is_ok());
        let _ = self.0.push(frame::text(&text));
    }
    fn on_binary(&self, data: Bytes) {
        let _ = self.0.push(frame::binary(&data));
    }
}

/// The client end.
struct Client {
    io: DuplexStream,
    buf: Vec<u8>,
}

impl Client {
    /// Writes bytes; errors (the server is gone) are ignored.
    async fn send(&mut self, bytes: &[u8]) {
        let _ = self.io.write_all(bytes).await;
    }

    /// The next server frame as (first byte, payload); `None` at EOF.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if let Some(frame) = take_server_frame(&mut self.buf) {
                return Some(frame);
            }
            let mut chunk = [0u8; 16384];
            match self.io.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next frame, which must be a close; its code and reason.
    async fn close_frame(&mut self) -> (u16, String) {
        let (b0, payload) = self.frame().await.expect("a close frame, not EOF");
        assert_eq!(
            b0,
            0x88,
            "expected a close frame, got {b0:#x} with {} bytes",
            payload.len()
        );
        assert!(payload.len() >= 2, "close frame without a code");
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        (code, String::from_utf8(payload[2..].to_vec()).unwrap())
    }

    /// Whether the server shut its side down with nothing more to read.
    async fn eof(&mut self) -> bool {
        self.frame().await.is_none()
    }

    /// Answers a server close and waits for the server to shut down.
    async fn finish_close(&mut self, code: u16) {
        self.send(&tf::close(code, b"")).await;
        assert!(
            self.eof().await,
            "server should shut down after the handshake"
        );
    }
}

fn cfg() -> ConnConfig {
    ConnConfig::default()
}

/// Runs a connection against `client`, with an echo handler; the whole
/// session must end within 60 s of (paused) time.
async fn session<F, Fut>(cfg: ConnConfig, client: F) -> Ended
where
    F: FnOnce(Client, Arc<Outbox>) -> Fut,
    Fut: Future<Output = ()>,
{
    let (server_io, client_io) = duplex(1 << 20);
    let outbox = Arc::new(Outbox::new(OutboxLimits::default()));
    let echo = Echo(outbox.clone());
    let client = client(
        Client {
            io: client_io,
            buf: Vec::new(),
        },
        outbox.clone(),
    );
    let both = async { tokio::join!(run(server_io, outbox.clone(), cfg, &echo), client) };
    let (ended, ()) = time::timeout(Duration::from_secs(60), both)
        .await
        .expect("session hung");
    // Whatever ended it, the outbox refuses frames afterwards.
    assert_eq!(outbox.push(frame::text(b"late")), Push::Closed);
    ended
}

/// A clean close started by the client with `code`.
fn peer_closed(code: u16) -> Ended {
    Ended {
        code,
        reason: String::new(),
        by_peer: true,
    }
}

#[tokio::test(start_paused = true)]
async fn echoes_every_length() {
    let ended = session(cfg(), |mut c, _| async move {
        for len in [0usize, 1, 125, 126, 127, 65535, 65536, 100_000] {
            let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            c.send(&tf::text(&payload)).await;
            assert_eq!(c.frame().await, Some((0x81, payload.clone())), "text {len}");
            c.send(&tf::binary(&payload)).await;
            assert_eq!(c.frame().await, Some((0x82, payload)), "binary {len}");
        }
        c.send(&tf::close(1000, b"")).await;
        assert_eq!(c.close_frame().await, (1000, String::new()));
        assert!(c.eof().await);
    })
    .await;
    assert_eq!(ended, peer_closed(1000));
}

#[tokio::test(start_paused = true)]
async fn echoes_fragmented_messages_whole() {
    let ended = session(cfg(), |mut c, _| async move {
        let mut bytes = ClientFrame::new(0x1, b"Hel").fin(false).bytes();
        bytes.extend(tf::ping(b"mid"));
        bytes.extend(ClientFrame::new(0x0, b"lo ").fin(false).bytes());
        bytes.extend(ClientFrame::new(0x0, "wörld".as_bytes()).bytes());
        c.send(&bytes).await;
        // The ping in the middle is answered first.
        assert_eq!(c.frame().await, Some((0x8A, b"mid".to_vec())));
        assert_eq!(
            c.frame().await,
            Some((0x81, "Hello wörld".as_bytes().to_vec()))
        );
        // Sent a byte at a time, the same.
        for b in ClientFrame::new(0x2, &[7; 300]).bytes() {
            c.send(&[b]).await;
        }
        assert_eq!(c.frame().await, Some((0x82, vec![7; 300])));
        c.send(&tf::close(1000, b"")).await;
        c.close_frame().await;
    })
    .await;
    assert_eq!(ended, peer_closed(1000));
}

#[tokio::test(start_paused = true)]
async fn ping_gets_a_pong_with_the_same_payload() {
    let ended = session(cfg(), |mut c, _| async move {
        for payload in [&b""[..], b"hello", &[0xAB; 125]] {
            c.send(&tf::ping(payload)).await;
            assert_eq!(c.frame().await, Some((0x8A, payload.to_vec())));
        }
        // A pong from the client is not answered.
        c.send(&ClientFrame::new(0xA, b"unsolicited").bytes()).await;
        c.send(&tf::text(b"after")).await;
        assert_eq!(c.frame().await, Some((0x81, b"after".to_vec())));
        c.send(&tf::close(1000, b"")).await;
        c.close_frame().await;
    })
    .await;
    assert_eq!(ended, peer_closed(1000));
}

#[tokio::test(start_paused = true)]
async fn frames_pushed_by_others_are_written() {
    let ended = session(cfg(), |mut c, outbox| async move {
        let shared = frame::text(b"broadcast");
        assert_eq!(outbox.push(shared.clone()), Push::Queued);
        assert_eq!(outbox.push(shared), Push::Queued);
        assert_eq!(c.frame().await, Some((0x81, b"broadcast".to_vec())));
        assert_eq!(c.frame().await, Some((0x81, b"broadcast".to_vec())));
        c.send(&tf::close(1001, "going".as_bytes())).await;
        assert_eq!(c.close_frame().await, (1001, String::new()));
    })
    .await;
    assert_eq!(
        ended,
        Ended {
            code: 1001,
            reason: "going".into(),
            by_peer: true
        }
    );
}

#[test]
fn run_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let (io, _other) = duplex(64);
    let outbox = Arc::new(Outbox::new(OutboxLimits::default()));
    let echo = Echo(outbox.clone());
    let fut = run(io, outbox, cfg(), &echo);
    assert_send(&fut);
}

/// A writer that takes vectored writes, at most `max` bytes a call.
struct Chunky {
    out: Vec<u8>,
    max: usize,
}

impl AsyncWrite for Chunky {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.max);
        self.out.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut n = 0;
        for buf in bufs {
            let take = buf.len().min(self.max - n);
            self.out.extend_from_slice(&buf[..take]);
            n += take;
            if n == self.max {
                break;
            }
        }
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn vectored_writes_survive_short_writes() {
    let frames: Vec<Bytes> = (0..200u32)
        .map(|i| frame::binary(&i.to_be_bytes()[..(i % 5) as usize]))
        .collect();
    let expected: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();
    for max in [1, 3, 7, 64, 10_000] {
        let mut w = Chunky {
            out: Vec::new(),
            max,
        };
        write_all_frames(&mut w, &frames).await.unwrap();
        assert_eq!(w.out, expected, "max {max}");
    }
}
