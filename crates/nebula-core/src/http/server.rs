//! The socket side: accept loop, connection limit, timeouts, graceful stop.
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::service::Service;

/// A listening server. Dropping it without [`ServerHandle::stop`] leaves the
/// accept loop running until the runtime ends.
pub struct ServerHandle {
    addr: SocketAddr,
    /// `Some(grace)` once stopping: in-flight requests get at most `grace`
    /// (and never more than the configured shutdown timeout).
    stop: watch::Sender<Option<Duration>>,
    ended: Ended,
}

/// How a stopping server tells it has ended.
enum Ended {
    /// The accept loop's task (threads mode).
    Task(JoinHandle<()>),
    /// The loop server (`h1::LoopServer`), turned by the thread that owns
    /// it: poked so that it sees the stop, then signals its end.
    Signal(oneshot::Receiver<()>, Box<dyn Fn() + Send + Sync>),
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (up to the configured
    /// shutdown timeout), closes idle keep-alive connections, then returns.
    pub async fn stop(self) {
        self.stop_within(Duration::MAX).await
    }

    /// [`ServerHandle::stop`], with in-flight requests given at most `grace`
    /// (the smaller of it and the shutdown timeout); the connections still
    /// busy then are closed. A caller that has already waited for them (the
    /// graceful-shutdown plugin's own timeout) passes zero.
    pub async fn stop_within(self, grace: Duration) {
        let _ = self.stop.send(Some(grace));
        match self.ended {
            Ended::Task(task) => {
                let _ = task.await;
            }
            Ended::Signal(ended, poke) => {
                poke();
                // Err: the loop server is gone (its thread's environment exited).
                let _ = ended.await;
            }
        }
    }

    /// The handle of a loop server: `poke` makes its owner turn it.
    pub(super) fn signalled(
        addr: SocketAddr,
        stop: watch::Sender<Option<Duration>>,
        ended: oneshot::Receiver<()>,
        poke: Box<dyn Fn() + Send + Sync>,
    ) -> ServerHandle {
        ServerHandle {
            addr,
            stop,
            ended: Ended::Signal(ended, poke),
        }
    }
}

/// Binds `host:port` (port 0 picks a free one) and serves `service` there.
pub async fn listen(service: Arc<Service>, host: &str, port: u16) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind((host, port)).await.map_err(|e| {
        std::io::Error::new(e.kind(), format!("could not listen on {host}:{port}: {e}"))
    })?;
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(None);
    let task = tokio::spawn(accept_loop(listener, service, stop_rx));
    Ok(ServerHandle {
        addr,
        stop,
        ended: Ended::Task(task),
    })
}

async fn accept_loop(
    listener: TcpListener,
    service: Arc<Service>,
    mut stop: watch::Receiver<Option<Duration>>,
) {
    let config = service.config().clone();
    let builder = Arc::new(http1_builder(&config));
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connection tasks so the set stays as small as the open connections.
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        let peer = Some(peer.ip());
        let svc = service.clone();
        let builder = builder.clone();
        let conn_stop = stop.clone();
        connections.spawn(async move {
            serve(&builder, TokioIo::new(stream), svc, peer, conn_stop).await;
            drop(permit);
        });
    }
    drop(listener);
    // The handle dropped without a stop: the configured timeout.
    let grace = stop.borrow().unwrap_or(Duration::MAX);
    let limit = config.shutdown_timeout.min(grace);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limit, drained).await.is_err() && !connections.is_empty() {
        tracing::warn!(
            "stop: {} connection(s) still busy after {} ms, closed",
            connections.len(),
            limit.as_millis()
        );
    }
    // Dropping the set aborts the connections still open.
}

/// The HTTP/1 settings of every connection hyper serves.
pub(super) fn http1_builder(config: &super::ServerConfig) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_headers(config.max_headers)
        // No pipeline_flush: with it hyper holds a response back while more
        // input is buffered (a stray CRLF, a partial next request, a parse error).
        // Head and body copied into one buffer and sent with one write: for
        // the small answers a service mostly sends, cheaper than a writev of
        // the parts (the pure-Rust hello route needed ~10 % less CPU); a large
        // body costs one more copy.
        .writev(false)
        // A client may send its request and shut its write side while it
        // waits (RFC 9112 §9.6 allows it): without this, hyper takes the EOF
        // for a vanished client and drops the request's future, so only
        // answers ready within the same poll (the Rust built-ins) were sent.
        // The cost: a client that closes entirely looks the same until the
        // answer is written (the write then fails and the connection ends),
        // so its request runs to its answer, which the handler timeout bounds.
        .half_close(true)
        .keep_alive(true);
    builder
}

/// Serves one connection with hyper until it ends, or until a stop is
/// asked (then the request in flight finishes and the connection closes).
pub(super) async fn serve<I>(
    builder: &http1::Builder,
    io: I,
    service: Arc<Service>,
    peer: Option<IpAddr>,
    mut stop: watch::Receiver<Option<Duration>>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let conn = builder
        .serve_connection(
            io,
            service_fn(move |req| {
                let svc = service.clone();
                async move { Ok::<_, Infallible>(svc.handle_from(req, peer).await) }
            }),
        )
        // WebSocket upgrades: the hub takes the connection over after its 101.
        .with_upgrades();
    // Stop asked, or the handle dropped (the accept loop has ended too).
    let stop_asked = async move {
        let _ = stop.wait_for(|s| s.is_some()).await;
    };
    tokio::pin!(conn);
    // On stop: finish the request in flight, then close (idle ones close at once).
    let ended = tokio::select! {
        r = conn.as_mut() => r,
        _ = stop_asked => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
