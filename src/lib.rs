//! Nebula Native: nebula-engine's plugin model on a Rust core.
//!
//! The core modules (`engine`, `http`) are plain Rust with no napi types;
//! `binding` is the only place that talks to Node.
pub mod engine;
pub mod http;

mod binding;
