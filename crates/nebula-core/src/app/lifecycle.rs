//! What an app runs (server, hubs, gateways, script VMs), in which order it
//! starts them and in which order it stops them.
//!
//! - **Start** (`listen`): the server listens; then every gateway starts its
//!   workers (until one is ready its routes answer 503). If one gateway
//!   cannot start, the gateways already started stop, the server stops, and
//!   nothing is left listening. Then hubs with a bus join their cluster.
//! - **Stop** (`close()`): hubs → server → gateways → script VMs. WebSocket
//!   clients are no longer the HTTP server's, so they are told first (1001)
//!   and get their closing handshakes; the server then stops after its
//!   requests in flight, which may still need the workers and the scripts.
//! - **Stop now** (the Node environment exits and waits): the same order,
//!   except that the server stops listening at once, beside the hubs.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::error::AppError;
use crate::gateway::Gateway;
use crate::http::server::{self, ServerHandle};
use crate::http::Service;
use crate::hub::Hub;
use crate::jsvm::Jsvm;

/// How long WebSocket clients get to finish closing, by `stop()`.
pub const HUB_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How long an exiting environment waits for `stop_now()`. The listener
/// closes at once; this bounds the rest (WebSocket closing handshakes,
/// requests in flight, workers' exits), which goes on in the background
/// past it. Short: a worker thread's exit waits for it.
pub const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Whatever the owner holds while the server listens (the binding: the
/// handle that keeps Node's event loop alive); dropped once it has stopped.
pub type KeepAlive = Box<dyn Send>;

/// An app starting: resolves to the port it listens on.
pub type Starting = std::pin::Pin<Box<dyn Future<Output = Result<u16, AppError>> + Send>>;

/// The parts of an app that run and must be stopped.
#[derive(Default)]
pub struct Running {
    server: Mutex<Option<(ServerHandle, KeepAlive)>>,
    /// Hubs mounted on the app (closed before the server stops).
    pub(super) hubs: Mutex<Vec<Arc<Hub>>>,
    /// Script VMs started for the app (shut down after the server).
    pub(super) jsvms: Mutex<Vec<Arc<Jsvm>>>,
    /// Gateways: their workers start when the app listens.
    pub(super) gateways: Mutex<Vec<Arc<Gateway>>>,
}

/// What one stop takes out of [`Running`]: a second stop finds nothing left.
struct Taken {
    server: Option<(ServerHandle, KeepAlive)>,
    hubs: Vec<Arc<Hub>>,
    jsvms: Vec<Arc<Jsvm>>,
    gateways: Vec<Arc<Gateway>>,
}

impl Running {
    /// Listens on `host:port` (0 = a free port), starts the gateways and
    /// joins the hubs' clusters; resolves to the port. The hubs and
    /// gateways are those attached when this is called.
    pub(super) fn start(
        self: &Arc<Self>,
        service: Arc<Service>,
        host: String,
        port: u16,
        keep_alive: KeepAlive,
    ) -> Starting {
        self.start_with(
            async move { server::listen(service, &host, port).await },
            keep_alive,
        )
    }

    /// [`Running::start`] with a server already listening (loop mode).
    pub(super) fn start_on(
        self: &Arc<Self>,
        server: ServerHandle,
        keep_alive: KeepAlive,
    ) -> Starting {
        self.start_with(async move { Ok(server) }, keep_alive)
    }

    fn start_with(
        self: &Arc<Self>,
        listen: impl Future<Output = std::io::Result<ServerHandle>> + Send + 'static,
        keep_alive: KeepAlive,
    ) -> Starting {
        let running = self.clone();
        let hubs = self.hubs.lock().clone();
        let gateways = self.gateways.lock().clone();
        Box::pin(async move {
            let handle = listen.await.map_err(AppError::Listen)?;
            // Listening: workers start (on a runtime thread, so they die with
            // it). If one gateway cannot start, none is left running and the
            // server stops.
            for (i, g) in gateways.iter().enumerate() {
                if let Err(e) = g.start() {
                    for started in &gateways[..i] {
                        started.stop().await;
                    }
                    handle.stop().await;
                    return Err(AppError::Services(e));
                }
            }
            // Serving: hubs with a bus join their cluster (each waits, bounded,
            // until its bus is subscribed, so the first clients are reachable).
            for hub in &hubs {
                hub.start_cluster().await;
            }
            let port = handle.local_addr().port();
            *running.server.lock() = Some((handle, keep_alive));
            Ok(port)
        })
    }

    /// Takes everything out and tells WebSocket clients the app is going
    /// away (1001): they are no longer the HTTP server's, so they go first.
    fn take(&self) -> Taken {
        let taken = Taken {
            server: self.server.lock().take(),
            hubs: std::mem::take(&mut *self.hubs.lock()),
            jsvms: std::mem::take(&mut *self.jsvms.lock()),
            gateways: std::mem::take(&mut *self.gateways.lock()),
        };
        for hub in &taken.hubs {
            hub.shutdown();
        }
        taken
    }

    /// `close()`: WebSocket clients get their closing handshakes, then the
    /// server stops after the requests in flight, then the workers and VMs.
    pub fn stop(&self) -> impl Future<Output = ()> + Send + 'static {
        self.stop_within(Duration::MAX)
    }

    /// [`Running::stop`], with the requests in flight given at most `grace`
    /// (see [`crate::http::server::ServerHandle::stop_within`]).
    pub fn stop_within(&self, grace: Duration) -> impl Future<Output = ()> + Send + 'static {
        let taken = self.take();
        async move {
            for hub in &taken.hubs {
                if !hub.wait_closed(HUB_CLOSE_WAIT).await {
                    tracing::warn!(
                        "stop: some WebSocket clients did not finish closing within 2 s"
                    );
                }
                hub.stop_cluster(HUB_CLOSE_WAIT).await;
            }
            taken.finish(grace).await;
        }
    }

    /// The environment is exiting and its exit waits for this (at most
    /// [`EXIT_WAIT`]): the server stops listening at once, while the
    /// WebSocket closing handshakes and the hubs' leaving their cluster go
    /// on beside it (bounded).
    pub fn stop_now(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut taken = self.take();
        async move {
            let server = taken.server.take();
            let stop_server = async move {
                if let Some((handle, keep_alive)) = server {
                    handle.stop().await;
                    drop(keep_alive);
                }
            };
            let leave = futures_util::future::join_all(taken.hubs.iter().map(|hub| async {
                hub.wait_closed(EXIT_WAIT / 2).await;
                hub.stop_cluster(EXIT_WAIT / 2).await;
            }));
            futures_util::future::join(stop_server, leave).await;
            taken.finish(Duration::MAX).await;
        }
    }
}

impl Taken {
    async fn finish(self, grace: Duration) {
        if let Some((handle, keep_alive)) = self.server {
            handle.stop_within(grace).await;
            drop(keep_alive);
        }
        // After the server: requests in flight to workers have finished.
        for g in self.gateways {
            g.stop().await;
        }
        // After the server: requests in flight on hook routes have finished.
        for jsvm in self.jsvms {
            let _ = tokio::task::spawn_blocking(move || jsvm.shutdown()).await;
        }
    }
}
