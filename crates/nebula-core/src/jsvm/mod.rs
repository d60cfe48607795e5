//! The script VM: `.pb.js` hook files run in a pool of QuickJS runtimes
//! (rquickjs), one OS thread per runtime, off the Node thread.
//!
//! - **Files.** Hook files (matching `pattern`) load in name order in every
//!   runtime of the pool; `require("./x")` reads files of the hooks folder
//!   from an in-memory snapshot taken when the generation is built (nothing
//!   outside the folder, no disk access at request time).
//! - **State is per runtime.** File-level variables are visible to handlers,
//!   since every runtime loads every file, but each runtime has its own copy:
//!   with `poolSize` 4 a counter has 4 values, and it starts over when a
//!   runtime is replaced or the files reload. Shared state belongs in the
//!   owner (send it with `events.emit`).
//! - **Limits.** Each execution has a deadline (interrupt handler + job-drain
//!   budget + an outer timeout + a watchdog for native loops), each runtime a
//!   memory and a stack limit (ArrayBuffer and string contents count); a
//!   runaway gets an error reply and its runtime is rebuilt, others keep
//!   serving. Past the deadline a runtime's large allocations are refused
//!   (see `gate.rs`), which stops loops of long native calls; a thread still
//!   in native code at 1.5× the deadline is given up and replaced (up to a
//!   process-wide cap of stuck threads, reported as `stuckThreads`).
//! - **Generations.** A reload builds a new pool from a new snapshot and swaps
//!   it in atomically; requests in flight finish on the old one; a load error
//!   keeps the old one serving and is reported in [`Jsvm::stats`].
//! - **Chains.** A hook route runs `onRequest` hooks (by priority, lower
//!   first; ties in registration order), then `routerUse` middlewares, the
//!   route's middlewares and its handler. Each calls `e.next()` to go on;
//!   throwing or not calling it stops the chain. A chain that writes no
//!   response answers 204.
//! - **Cron** uses standard 5-field expressions in UTC; a run is skipped
//!   while the previous run of that job is still going.
//! - **Plugins**: see [`plugins`].
//!
//! No file system, network or process access is given to scripts (rquickjs
//! builds no quickjs-libc).
//!
//! May import `kernel`, `support`, `auth`, `http` and `hub` (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
mod admin_api;
mod config;
mod cron;
mod error;
mod errors;
mod gate;
mod generation;
mod globals;
mod host;
mod http_routes;
mod hub_api;
mod hub_hooks;
pub mod plugins;
mod pool;
mod reply;
mod service;
mod sources;
mod stats;
mod table;
mod task;
mod vm;
mod watch;
mod worker;

pub use admin_api::JsvmAdmin;
pub use config::{FilePattern, JsvmConfig};
pub use cron::parse_cron;
pub use error::JsvmConfigError;
pub use errors::LoadError;
pub use http_routes::JsvmRoutes;
pub use service::{HookRequest, HookRoute, Jsvm};

/// Custom events from scripts (`events.emit(name, data)`) to the owner.
/// Called on a worker thread; an implementation must not block (queue and
/// return, bounded).
pub trait JsvmEvents: Send + Sync + 'static {
    fn emitted(&self, name: &str, data_json: &str);
}

/// Types of the hook API, for editors.
pub const TYPES_D_TS: &str = include_str!("types.d.ts");

/// Writes `types.d.ts` into `dir` (e.g. the hooks folder).
pub fn write_types(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::write(dir.join("types.d.ts"), TYPES_D_TS)
}

#[cfg(test)]
mod tests;
