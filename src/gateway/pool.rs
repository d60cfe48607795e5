//! Connections to one worker, kept open between requests: a request takes
//! an idle one (or opens one), and gives it back once the answer's body has
//! been read to its end. At most [`MAX_IDLE`] wait per worker.
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;

use super::endpoint::EndpointAddr;
use crate::http::dynamic::RequestStream;

/// Idle connections kept per worker.
pub const MAX_IDLE: usize = 64;

pub type Sender = hyper::client::conn::http1::SendRequest<RequestStream>;

/// A worker's idle connections.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<Sender>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} idle)", self.idle.lock().len())
    }
}

impl Pool {
    /// An idle connection that is still open, if any (the newest first).
    pub fn take(&self) -> Option<Sender> {
        let mut idle = self.idle.lock();
        while let Some(s) = idle.pop() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    /// Gives a connection back after its answer was read whole.
    pub fn give(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push(sender);
        }
    }

    pub fn idle(&self) -> usize {
        self.idle.lock().len()
    }
}

/// An HTTP/1.1 client connection over `stream`, driven by its own task.
async fn handshake<S>(stream: S) -> std::io::Result<Sender>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// Opens a new connection to `addr`.
pub async fn connect(addr: &EndpointAddr) -> std::io::Result<Sender> {
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
