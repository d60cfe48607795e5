//! Connections to one worker, kept open between requests: a request takes
//! an idle one (or opens one), and gives it back once both bodies are done:
//! the answer read to its end and the request body sent whole. At most
//! [`MAX_IDLE`] wait per worker, none longer than [`MAX_IDLE_AGE`] (a worker
//! may close an idle connection at any moment; a young one rarely is).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::endpoint::EndpointAddr;
use super::upstream_body::Stallable;
use crate::http::dynamic::RequestStream;

/// Idle connections kept per worker.
pub const MAX_IDLE: usize = 64;
/// An idle connection older than this is closed rather than reused.
pub const MAX_IDLE_AGE: Duration = Duration::from_secs(2);

pub type Sender = hyper::client::conn::http1::SendRequest<RequestStream>;

/// A client connection: where requests go in, and its task (aborting it
/// closes the socket).
pub struct Conn {
    pub sender: Sender,
    pub task: AbortHandle,
    /// Set once the current request's body was sent whole.
    pub sent: Arc<AtomicBool>,
}

impl Conn {
    pub fn close(&self) {
        self.task.abort();
    }
}

/// A connection nobody holds any more is closed at once (not when the worker
/// finishes an answer nobody waits for).
impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
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

/// An HTTP/1.1 client connection over `stream`, driven by its own task.
async fn handshake<S>(stream: S) -> std::io::Result<Conn>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    let task = tokio::spawn(async move {
        let _ = conn.await;
    })
    .abort_handle();
    Ok(Conn {
        sender,
        task,
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
