//! The WebSocket hub: GoHub's rooms, auth, dispatcher, admin API and metrics,
//! in Rust on the engine's own HTTP server (same port, path `/ws` by default).
//!
//! `ws` is the RFC 6455 layer; the hub frames each outgoing message once and
//! shares the bytes with every recipient's bounded send queue. TypeScript
//! sees only the events and custom message types it asks for ([`HubEvents`]).
//!
//! May import `kernel`, `support`, `auth` and `http` (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
mod admin;
pub mod client;
pub mod cluster;
pub mod config;
mod dispatch;
mod error;
pub mod events;
pub mod identity;
pub mod metrics;
mod mount;
pub mod protocol;
mod rooms;
mod state;
mod upgrade;
pub mod ws;

pub use client::Client;
pub use config::{HubConfig, OnFull};
pub use error::{HubConfigError, MessageTypeError};
pub use events::{HubEvents, HubScripts};
pub use mount::HubMount;
pub use protocol::{ErrorCode, HubError};
pub use state::{check_custom_type, Hub, CLOSE_KICKED, CLOSE_REPLACED};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scripts;
