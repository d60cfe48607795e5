//! An engine stops by `close()`, or when the Node environment that made it
//! exits (a worker thread ends, vitest's `pool: 'threads'` recycles a
//! worker). The order and the bounds of a stop are the core's
//! (`nebula_core::app::lifecycle`); this file only ties engines to their
//! environment.
//!
//! An engine belongs to the environment that made it. The first engine made
//! in an environment registers one env cleanup hook there; at exit the hook
//! stops every engine of that environment still running, waiting a bounded
//! time, so no server keeps a port open or answers for JS that is gone, and
//! no script VM thread or worker process outlives it.
use std::cell::RefCell;
use std::sync::{Arc, Weak};

use napi::bindgen_prelude::*;

use nebula_core::app::{Running, EXIT_WAIT};

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
/// and waits for them at most [`EXIT_WAIT`]. napi-rs's own hook (which
/// may shut the runtime down) was registered when the module loaded, so
/// before this one, and Node runs cleanup hooks in reverse order: the
/// runtime still runs here.
fn env_exiting() {
    let engines = ENGINES
        .with(|engines| engines.borrow_mut().take())
        .unwrap_or_default();
    // Loop mode: this thread's loop will not turn again, so its servers
    // stop here, at once (their handles' stops then return at once).
    #[cfg(unix)]
    super::uv_loop::close_all();
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
    if spawned.is_ok() && stopped.recv_timeout(EXIT_WAIT).is_err() {
        tracing::warn!("environment exit: engines were still stopping after 2 s; they finish in the background");
    }
}
