//! The tokio runtime shared by the server and napi's async functions.
//!
//! On a small machine the Node thread needs a core of its own, so the default
//! is one worker per core beyond the first (at least one). `NEBULA_WORKER_THREADS`
//! overrides it.
use napi::bindgen_prelude::create_custom_tokio_runtime;

/// The handle of the runtime napi-rs runs now, for what loop mode hands to
/// it (hyper's connections, timers). Asked at each listen: napi-rs shuts its
/// runtime down when the last environment exits, and starts a new one for
/// the next (worker threads come and go).
pub(super) fn handle() -> Option<tokio::runtime::Handle> {
    std::panic::catch_unwind(|| {
        napi::bindgen_prelude::within_runtime_if_available(tokio::runtime::Handle::current)
    })
    .ok()
}

/// Whether HTTP runs on Node's event loop (`loop`) or on the runtime's
/// threads (`threads`). The engine's `httpMode` option (into which
/// `lib/microservice.js` puts `NEBULA_HTTP_MODE` when set: a worker
/// thread's environment is its own copy), else `NEBULA_HTTP_MODE` in the
/// process environment; `auto` (the default)
/// is loop mode on a machine of at most two cores, where a second thread
/// costs a hand-off per request and has no core of its own to run on, and
/// threads mode beyond, where native answers spread over the cores.
pub(super) fn loop_mode(option: Option<&str>) -> Result<bool, String> {
    let env = std::env::var("NEBULA_HTTP_MODE").ok();
    let chosen = option.or(env.as_deref()).unwrap_or("auto");
    match chosen.trim() {
        "loop" => Ok(cfg!(unix)),
        "threads" => Ok(false),
        "auto" | "" => {
            Ok(cfg!(unix) && std::thread::available_parallelism().map_or(1, |n| n.get()) <= 2)
        }
        other => Err(format!(
            "httpMode must be 'auto', 'loop' or 'threads', got {other:?}{}",
            if option.is_none() {
                " (from NEBULA_HTTP_MODE)"
            } else {
                ""
            }
        )),
    }
}

fn worker_threads() -> usize {
    if let Some(n) = std::env::var("NEBULA_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_sub(1).max(1)
}

#[napi_derive::module_init]
fn init() {
    super::log::install();
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("nebula-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => create_custom_tokio_runtime(rt),
        // napi falls back to its own default runtime.
        Err(e) => eprintln!("nebula-native: could not build the tokio runtime: {e}"),
    }
}
