//! The napi face of the core. Nothing outside this module imports napi; the
//! code here only converts values and maps errors to JS exceptions.
//!
//! May import `nebula_core` (any module) and napi; nothing imports it.
mod answers;
mod config_store;
mod coord;
mod dispatch;
mod engine;
mod error;
mod gateway;
mod hub;
mod jsvm;
mod layers;
mod log;
mod plan;
mod runtime;
mod shared;
mod stream;
mod teardown;
#[cfg(unix)]
mod uv_loop;
mod wake;
