//! Drives one upgraded connection: reads and decodes client frames, hands
//! messages to a [`MessageHandler`], answers pings, writes the [`Outbox`],
//! and runs the closing handshake, idle timeout and keep-alive pings.
use std::future::pending;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{self, Instant, Interval, MissedTickBehavior};

use super::close_code::{ABNORMAL, GOING_AWAY, NORMAL, NO_STATUS};
use super::decoder::{Decoder, Incoming, Limits};
use super::frame;
use super::outbox::Outbox;

/// Frames written per vectored write.
const MAX_SLICES: usize = 64;

/// How a connection behaves.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// What the client may send.
    pub limits: Limits,
    /// Send a ping this often (`None`: never).
    pub ping_interval: Option<Duration>,
    /// Close with 1001 after this long without receiving anything (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// After our close frame: how long to wait for the peer's. Also bounds
    /// how long a close may wait behind a write the peer does not read.
    pub close_grace: Duration,
}

impl Default for ConnConfig {
    /// Default limits, no pings, no idle timeout, 1 s close grace.
    fn default() -> ConnConfig {
        ConnConfig {
            limits: Limits::default(),
            ping_interval: None,
            idle_timeout: None,
            close_grace: Duration::from_secs(1),
        }
    }
}

/// Receives the client's messages. Called on the connection's task, one
/// message at a time; it should not block.
pub trait MessageHandler: Send + Sync {
    /// A text message (valid UTF-8).
    fn on_text(&self, text: Bytes);
    /// A binary message.
    fn on_binary(&self, data: Bytes);
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The close code sent (when we closed first) or received (when the peer
    /// did; 1005 if its close frame had no code); 1006 when the socket just
    /// dropped.
    pub code: u16,
    /// The reason that went with the code.
    pub reason: String,
    /// Whether the peer ended it (its close frame, or dropping the socket).
    pub by_peer: bool,
}

impl Ended {
    fn dropped(reason: String) -> Ended {
        Ended {
            code: ABNORMAL,
            reason,
            by_peer: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadMode {
    /// Decode frames.
    Decode,
    /// After a protocol error: read and discard until EOF, so closing does
    /// not reset the connection before the peer reads our close frame.
    Drain,
    /// The peer's close frame came, or EOF.
    Done,
}

struct Reader {
    decoder: Decoder,
    mode: ReadMode,
    /// The peer's close frame; `Some(None)` when it had no code.
    peer_close: Option<Option<(u16, String)>>,
    /// The peer's close came before we had closed.
    peer_initiated: bool,
    eof: bool,
    last_activity: Instant,
}

impl Reader {
    /// Handles everything decodable in the buffer.
    fn process(&mut self, outbox: &Outbox, handler: &dyn MessageHandler) {
        loop {
            match self.mode {
                ReadMode::Decode => {}
                ReadMode::Drain => {
                    self.decoder.buffer_mut().clear();
                    return;
                }
                ReadMode::Done => return,
            }
            match self.decoder.next() {
                Ok(None) => return,
                Ok(Some(msg)) => self.on_incoming(msg, outbox, handler),
                Err(err) => {
                    outbox.close_now(err.code, err.reason);
                    self.mode = ReadMode::Drain;
                }
            }
        }
    }

    fn on_incoming(&mut self, msg: Incoming, outbox: &Outbox, handler: &dyn MessageHandler) {
        match msg {
            // Once we are closing, messages are dropped (RFC 6455 section 1.4).
            Incoming::Text(text) if !outbox.is_closing() => handler.on_text(text),
            Incoming::Binary(data) if !outbox.is_closing() => handler.on_binary(data),
            Incoming::Ping(payload) => {
                // Refused once closing; dropped if the client floods pings.
                let _ = outbox.push_control(frame::pong(&payload));
            }
            Incoming::Text(_) | Incoming::Binary(_) | Incoming::Pong(_) => {}
            Incoming::Close(close) => {
                if !outbox.is_closing() {
                    self.peer_initiated = true;
                    outbox.close(close.as_ref().map_or(NORMAL, |(code, _)| *code), "");
                }
                self.peer_close = Some(close);
                self.mode = ReadMode::Done;
            }
        }
    }

    /// The outcome once the closing handshake is over (or abandoned).
    fn ended(&self, outbox: &Outbox) -> Ended {
        if let (true, Some(close)) = (self.peer_initiated, &self.peer_close) {
            let (code, reason) = close.clone().unwrap_or((NO_STATUS, String::new()));
            return Ended {
                code,
                reason,
                by_peer: true,
            };
        }
        match outbox.close_reason() {
            Some((code, reason)) => Ended {
                code,
                reason,
                by_peer: false,
            },
            None => Ended::dropped("connection dropped".into()),
        }
    }
}

/// Runs a WebSocket connection until it closes, and says how it ended.
///
/// Messages go to `handler`; frames pushed to `outbox` (by the handler, the
/// hub, anyone) are written in batches. A ping is answered with a pong; a
/// close from the peer is echoed; a protocol violation is answered with the
/// matching close code. Closing the outbox (say, with 1008 when a token
/// expires) ends the connection too. After our close frame is written, the
/// peer's close (or EOF) is awaited for `cfg.close_grace`, then the socket's
/// write side is shut down.
pub async fn run<S>(
    io: S,
    outbox: Arc<Outbox>,
    cfg: ConnConfig,
    handler: &dyn MessageHandler,
) -> Ended
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let ended = drive(&mut rd, &mut wr, &outbox, &cfg, handler).await;
    let _ = time::timeout(cfg.close_grace, wr.shutdown()).await;
    ended
}

async fn drive<R, W>(
    rd: &mut R,
    wr: &mut W,
    outbox: &Outbox,
    cfg: &ConnConfig,
    handler: &dyn MessageHandler,
) -> Ended
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = Reader {
        decoder: Decoder::new(cfg.limits),
        mode: ReadMode::Decode,
        peer_close: None,
        peer_initiated: false,
        eof: false,
        last_activity: Instant::now(),
    };
    let writer = write_loop(wr, outbox);
    tokio::pin!(writer);
    let mut writer_done = false;
    // Once closing: the close frame must be written by this time.
    let mut close_deadline = None;
    // Once it is written: the peer's close must come by this time.
    let mut grace_deadline = None;
    let idle = cfg.idle_timeout;
    let idle_sleep = time::sleep(idle.unwrap_or(Duration::MAX));
    tokio::pin!(idle_sleep);
    let mut ping = cfg.ping_interval.map(|period| {
        let mut interval = time::interval_at(after(Instant::now(), period), period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        interval
    });

    loop {
        let closing = outbox.is_closing();
        if writer_done && reader.peer_close.is_some() {
            return reader.ended(outbox);
        }
        if reader.eof {
            if !closing {
                outbox.disconnect();
                return Ended::dropped("connection dropped".into());
            }
            if writer_done {
                return reader.ended(outbox);
            }
        }
        if closing && close_deadline.is_none() {
            close_deadline = Some(after(Instant::now(), cfg.close_grace));
        }
        let deadline = if writer_done {
            grace_deadline
        } else {
            close_deadline
        };
        tokio::select! {
            result = &mut writer, if !writer_done => {
                writer_done = true;
                if let Err(err) = result {
                    // Report the close under way, if any; else the failure.
                    let mut ended = reader.ended(outbox);
                    if ended.code == ABNORMAL {
                        ended.reason = format!("write failed: {err}");
                    }
                    outbox.disconnect();
                    return ended;
                }
                grace_deadline = Some(after(Instant::now(), cfg.close_grace));
            }
            result = rd.read_buf(reader.decoder.buffer_mut()), if reader.mode != ReadMode::Done => {
                match result {
                    Ok(0) | Err(_) => {
                        reader.eof = true;
                        reader.mode = ReadMode::Done;
                    }
                    Ok(_) => {
                        reader.last_activity = Instant::now();
                        reader.process(outbox, handler);
                    }
                }
            }
            () = outbox.closed(), if !closing => {}
            () = &mut idle_sleep, if idle.is_some() && !closing => {
                let due = after(reader.last_activity, idle.unwrap_or_default());
                if Instant::now() >= due {
                    outbox.close(GOING_AWAY, "idle timeout");
                } else {
                    idle_sleep.as_mut().reset(due);
                }
            }
            () = tick(&mut ping), if !closing => {
                let _ = outbox.push_control(frame::ping(b""));
            }
            () = sleep_until(deadline) => return reader.ended(outbox),
        }
    }
}

/// Writes the outbox's batches until the close frame is out.
async fn write_loop<W: AsyncWrite + Unpin>(wr: &mut W, outbox: &Outbox) -> io::Result<()> {
    let mut batch = Vec::new();
    while outbox.next_batch(&mut batch).await {
        write_all_frames(wr, &batch).await?;
        batch.clear();
        wr.flush().await?;
    }
    Ok(())
}

/// Writes every frame, several per call when the writer takes vectored writes.
async fn write_all_frames<W: AsyncWrite + Unpin>(wr: &mut W, frames: &[Bytes]) -> io::Result<()> {
    if !wr.is_write_vectored() {
        for frame in frames {
            wr.write_all(frame).await?;
        }
        return Ok(());
    }
    for group in frames.chunks(MAX_SLICES) {
        let mut slices: Vec<IoSlice<'_>> = group.iter().map(|frame| IoSlice::new(frame)).collect();
        let mut rest = &mut slices[..];
        IoSlice::advance_slices(&mut rest, 0);
        while !rest.is_empty() {
            let n = wr.write_vectored(rest).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut rest, n);
        }
    }
    Ok(())
}

/// `from + d`, or a far-off instant when that overflows.
fn after(from: Instant, d: Duration) -> Instant {
    from.checked_add(d)
        .unwrap_or_else(|| from + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}

async fn tick(ping: &mut Option<Interval>) {
    match ping {
        Some(interval) => {
            interval.tick().await;
        }
        None => pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => time::sleep_until(deadline).await,
        None => pending().await,
    }
}

#[cfg(test)]
mod tests;
