//! Nebula Native's engine, in plain Rust: no napi types, tested with
//! `cargo test -p nebula-core` and no Node. The addon crate (the repository
//! root) is its only napi face. See ARCHITECTURE.md for the layers.
pub mod auth;
pub mod coord;
pub mod engine;
pub mod gateway;
pub mod http;
pub mod hub;
pub mod jsvm;
pub mod kernel;
pub mod plugins;
pub mod support;
