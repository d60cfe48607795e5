//! The HTTP server on a real socket, loop mode (`http::h1`: the loop server,
//! turned here by a thread of its own instead of Node's event loop).
mod common;
const LOOP: bool = true;
include!("common/server_cases.rs");
