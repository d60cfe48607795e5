//! Connections to one worker, kept open between requests: a request takes
//! an idle one (or opens one), and gives it back once both bodies are done:
//! the answer read to its end and the request body sent whole. At most
//! [`MAX_IDLE`] wait per worker, none longer than [`MAX_IDLE_AGE`] (a worker
//! may close an idle connection at any moment; a young one rarely is).
//!
//! A connection has no task of its own: its I/O (hyper's `Connection`) is
//! polled by the request using it, in the request's own task ([`Driver`]),
//! so a proxied request wakes one task, not two, and nothing crosses
//! between tasks per request. An idle connection is polled by nobody; a
//! worker that closed it meanwhile is noticed when it is next taken.
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::endpoint::EndpointAddr;
use super::upstream_body::Stallable;
use crate::http::dynamic::RequestStream;

/// Idle connections kept per worker.
pub const MAX_IDLE: usize = 64;
/// An idle connection older than this is closed rather than reused.
pub const MAX_IDLE_AGE: Duration = Duration::from_secs(2);

pub type Sender = hyper::client::conn::http1::SendRequest<RequestStream>;

/// hyper's client connection (its I/O), boxed whatever the socket.
type Io = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// A client connection's I/O, polled by whoever uses the connection; the
/// pool's watchdog may close it from elsewhere (hence the lock, never
/// contended on the request path).
#[derive(Clone)]
pub struct Driver(Arc<Mutex<Option<Io>>>);

impl Driver {
    /// Moves the connection on (writes what is queued, reads what arrived);
    /// true once it is closed.
    pub fn poll(&self, cx: &mut Context<'_>) -> bool {
        let mut slot = self.0.lock();
        let Some(io) = slot.as_mut() else {
            return true;
        };
        if io.as_mut().poll(cx).is_pending() {
            return false;
        }
        let ended = slot.take();
        drop(slot);
        drop(ended);
        true
    }

    /// Closes the socket (pending requests and bodies on it fail).
    pub fn close(&self) {
        let io = self.0.lock().take();
        drop(io);
    }

    /// Awaits `fut` (a request on this connection) while moving the
    /// connection on; None if the connection closed before `fut` finished.
    pub async fn drive<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut fut = pin!(fut);
        std::future::poll_fn(|cx| {
            // `fut` waits with this task's waker: the answer the connection
            // hands it below would wake this very task, to be polled again
            // for nothing. A no-op waker stands in while the connection moves.
            if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                return Poll::Ready(Some(out));
            }
            let closed = self.poll(cx);
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            if closed {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }
}

/// A client connection: where requests go in, and its I/O.
pub struct Conn {
    pub sender: Sender,
    pub driver: Driver,
    /// Set once the current request's body was sent whole.
    pub sent: Arc<AtomicBool>,
}

impl Conn {
    pub fn close(&self) {
        self.driver.close();
    }
}

/// A connection nobody holds any more is closed at once (not when the worker
/// finishes an answer nobody waits for).
impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.close();
    }
}

/// A worker's idle connections, and the answers in progress its watchdog checks.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<(Conn, Instant)>>,
    watched: Mutex<Watched>,
}

#[derive(Default)]
struct Watched {
    answers: Vec<(Weak<dyn Stallable>, Duration)>,
    /// The watchdog task runs (it ends when nothing is left to watch).
    running: bool,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} idle)", self.idle.lock().len())
    }
}

impl Pool {
    /// An idle connection that is still open and young, the newest first.
    pub fn take(&self) -> Option<Conn> {
        let mut idle = self.idle.lock();
        while let Some((c, since)) = idle.pop() {
            if !c.sender.is_closed() && since.elapsed() < MAX_IDLE_AGE {
                return Some(c);
            }
            c.close();
        }
        None
    }

    /// Gives a connection back once its answer was read whole; one whose
    /// request body is still being sent is closed instead (it is not free).
    pub fn give(&self, conn: Conn) {
        if conn.sender.is_closed() || !conn.sent.load(Ordering::Acquire) {
            conn.close();
            return;
        }
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        } else {
            conn.close();
        }
    }

    pub fn idle(&self) -> usize {
        self.idle.lock().len()
    }

    /// Watches an answer in progress: cut off once nothing passed on for `idle`.
    pub fn watch(self: &Arc<Self>, answer: Weak<dyn Stallable>, idle: Duration) {
        let mut w = self.watched.lock();
        w.answers.push((answer, idle));
        if w.running {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        w.running = true;
        rt.spawn(watchdog(Arc::downgrade(self)));
    }
}

/// Checks the pool's answers in progress a few times per timeout, until none is left.
async fn watchdog(pool: Weak<Pool>) {
    loop {
        let step = {
            let Some(pool) = pool.upgrade() else { return };
            let mut w = pool.watched.lock();
            w.answers.retain(|(a, idle)| match a.upgrade() {
                Some(a) => !a.ended() && !a.cut_if_stalled(*idle),
                None => false,
            });
            match w.answers.iter().map(|(_, idle)| *idle).min() {
                Some(min) => (min / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)),
                None => {
                    // Under the lock: a `watch` after this starts a new watchdog.
                    w.running = false;
                    return;
                }
            }
        };
        tokio::time::sleep(step).await;
    }
}

/// An HTTP/1.1 client connection over `stream`, driven by its users.
async fn handshake<S>(stream: S) -> std::io::Result<Conn>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, io) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    Ok(Conn {
        sender,
        driver: Driver(Arc::new(Mutex::new(Some(Box::pin(io))))),
        sent: Arc::new(AtomicBool::new(true)),
    })
}

/// Opens a new connection to `addr`.
pub async fn connect(addr: &EndpointAddr) -> std::io::Result<Conn> {
    match addr {
        EndpointAddr::Unix(path) => handshake(tokio::net::UnixStream::connect(path).await?).await,
        EndpointAddr::Tcp { host, port } => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            let _ = stream.set_nodelay(true);
            handshake(stream).await
        }
    }
}

/// An empty request body.
pub fn empty() -> RequestStream {
    use http_body_util::BodyExt;
    http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}
