//! Nebula Native's addon: the napi binding of `nebula-core`.
//!
//! This crate only converts values between JavaScript and Rust and hands out
//! handles; everything it serves (HTTP, plugins, hub, script VM, gateway) is
//! in `crates/nebula-core`, which has no napi dependency. See ARCHITECTURE.md.

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
