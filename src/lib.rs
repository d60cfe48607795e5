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

// Under load the server allocates and frees per request on the tokio worker
// (hyper's buffers, headers, the answer); mimalloc took ~6 % off a request's
// cost there against glibc's malloc (hello route, `npm run bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
