//! HTTP/1 on the thread that runs the loop (`loop` mode): no hand-off to
//! another thread, as uWebSockets.js serves. `codec` parses and renders
//! without I/O, `conn` is one connection, `loop_server` the sockets and
//! wake-ups, `handoff` what goes to hyper (upgrades, streams, anything
//! unusual).
//!
//! May import `kernel`, `support` and the rest of `http`.
pub mod codec;
mod conn;
mod handoff;
mod loop_server;
mod thread_driver;
mod wake;

#[cfg(test)]
mod tests;

pub use loop_server::{LoopServer, Turn};
pub use thread_driver::listen_on_thread;
pub use wake::{hushed, in_turn};
