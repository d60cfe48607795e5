//! The tokio runtime shared by the server and napi's async functions.
//!
//! On a small machine the Node thread needs a core of its own, so the default
//! is one worker per core beyond the first (at least one). `NEBULA_WORKER_THREADS`
//! overrides it.
use napi::bindgen_prelude::create_custom_tokio_runtime;

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
