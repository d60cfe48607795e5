//! The HTTP server on a real socket, threads mode (hyper on the tokio runtime).
mod common;
const LOOP: bool = false;
include!("common/server_cases.rs");
