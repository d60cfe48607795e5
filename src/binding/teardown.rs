//! What an engine runs (server, hubs, gateways, script VMs) and how it stops:
//! by `close()`, or when the Node environment that made the engine exits
//! (a worker thread ends, vitest's `pool: 'threads'` recycles a worker).
//!
//! An engine belongs to the environment that made it. The first engine made
//! in an environment registers one env cleanup hook there; at exit the hook
//! stops every engine of that environment still running, waiting a bounded
//! time, so no server keeps a port open or answers for JS that is gone, and
//! no script VM thread or worker process outlives it.
use std::cell::RefCell;
use std::sync::{Arc, Weak};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use parking_lot::Mutex;

use nebula_core::gateway::Gateway;
use nebula_core::http::server::ServerHandle;
use nebula_core::hub::Hub;
use nebula_core::jsvm::Jsvm;

/// Never called: while it exists, Node's event loop stays alive (the server is listening).
pub(super) type KeepAlive = ThreadsafeFunction<(), (), (), Status, false>;

/// How long an exiting environment waits for its engines to stop. The
/// listener closes at once; this bounds the rest (WebSocket closing
/// handshakes, requests in flight, workers' exits), which goes on in the
/// background past it. Short: a worker's exit waits for it.
const ENV_EXIT_WAIT: Duration = Duration::from_secs(2);

/// How long WebSocket clients get to finish closing, by `close()`.
const HUB_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The parts of an engine that run and must be stopped.
#[derive(Default)]
pub(super) struct Running {
    pub(super) server: Mutex<Option<(ServerHandle, KeepAlive)>>,
    /// Hubs mounted on this engine (closed before the server stops).
    pub(super) hubs: Mutex<Vec<Arc<Hub>>>,
    /// Script VMs started for this engine (shut down when it closes).
    pub(super) jsvms: Mutex<Vec<Arc<Jsvm>>>,
    /// Gateways (ServicesPlugin): their workers start when the engine listens.
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
    pub(super) fn hubs(&self) -> Vec<Arc<Hub>> {
        self.hubs.lock().clone()
    }

    pub(super) fn gateways(&self) -> Vec<Arc<Gateway>> {
        self.gateways.lock().clone()
    }

    /// Takes everything out and tells WebSocket clients the engine is going
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
    pub(super) fn stop(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
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
            taken.finish().await;
        }
    }

    /// The environment is exiting and its exit waits for this: the server
    /// stops listening at once, while the WebSocket closing handshakes and
    /// the hubs' leaving their cluster go on beside it (bounded).
    fn stop_now(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
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
                hub.wait_closed(ENV_EXIT_WAIT / 2).await;
                hub.stop_cluster(ENV_EXIT_WAIT / 2).await;
            }));
            futures_util::future::join(stop_server, leave).await;
            taken.finish().await;
        }
    }
}

impl Taken {
    async fn finish(self) {
        if let Some((handle, keep_alive)) = self.server {
            handle.stop().await;
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

thread_local! {
    /// The engines made in the environment on this thread (Node runs one
    /// environment per thread: the main one, or a worker's). `None` until the
    /// first engine registers the environment's cleanup hook.
    static ENGINES: RefCell<Option<Vec<Weak<Running>>>> = const { RefCell::new(None) };
}

/// Makes `running` stop when the environment `env` exits. Weak: an engine
/// dropped by the GC stops by being dropped.
pub(super) fn belongs_to(env: &Env, running: &Arc<Running>) -> Result<()> {
    let first = ENGINES.with(|engines| {
        let mut engines = engines.borrow_mut();
        let first = engines.is_none();
        let list = engines.get_or_insert_with(Vec::new);
        // Engines collected since: the list stays as long as the live ones.
        list.retain(|e| e.strong_count() > 0);
        list.push(Arc::downgrade(running));
        first
    });
    if first {
        if let Err(e) = env.add_env_cleanup_hook((), |()| env_exiting()) {
            ENGINES.with(|engines| engines.borrow_mut().take());
            return Err(e);
        }
    }
    Ok(())
}

/// The env cleanup hook: stops every engine still running, on the runtime,
/// and waits for them at most [`ENV_EXIT_WAIT`]. napi-rs's own hook (which
/// may shut the runtime down) was registered when the module loaded, so
/// before this one, and Node runs cleanup hooks in reverse order: the
/// runtime still runs here.
fn env_exiting() {
    let engines = ENGINES
        .with(|engines| engines.borrow_mut().take())
        .unwrap_or_default();
    let stops: Vec<_> = engines
        .iter()
        .filter_map(Weak::upgrade)
        .map(|running| running.stop_now())
        .collect();
    if stops.is_empty() {
        return;
    }
    let (done, stopped) = std::sync::mpsc::sync_channel::<()>(1);
    // `spawn` panics when napi-rs's runtime is gone (then so are the
    // engines' tasks): that only loses the wait, and must not unwind into Node.
    let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        napi::bindgen_prelude::spawn(async move {
            futures_util::future::join_all(stops).await;
            let _ = done.send(());
        })
    }));
    if spawned.is_ok() && stopped.recv_timeout(ENV_EXIT_WAIT).is_err() {
        tracing::warn!("environment exit: engines were still stopping after 2 s; they finish in the background");
    }
}
