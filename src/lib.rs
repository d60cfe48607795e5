//! Nebula Native: nebula-engine's plugin model on a Rust core.
//!
//! The core modules (`engine`, `http`) are plain Rust with no napi types;
//! `binding` is the only place that talks to Node.
pub mod auth;
pub mod coord;
pub mod engine;
pub mod gateway;
pub mod http;
pub mod hub;
pub mod ids;
pub mod jsvm;
pub mod plugins;

// napi registers the binding's items at load time; a test build never calls them.
#[cfg_attr(test, allow(dead_code))]
mod binding;

// No custom global allocator. mimalloc was one (~6 % off a request's cost
// on the hello route) but it is unsafe in a dlopen'd addon: mimalloc 3 takes
// the thread that loads the addon as its main thread, and when that thread
// ends (a worker_threads Worker that loaded the package first, as vitest's
// `pool: 'threads'` does) the next thread's first allocation segfaults in
// `mi_thread_init` (microsoft/mimalloc#1287). The system malloc belongs to
// the process and outlives every environment and every unload.
