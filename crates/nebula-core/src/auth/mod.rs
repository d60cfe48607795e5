//! Authentication shared by the HTTP plugins and the WebSocket hub.
//!
//! May import `kernel` and `support` (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
pub mod admin_token;
pub mod jwt;
