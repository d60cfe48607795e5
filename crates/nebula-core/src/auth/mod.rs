//! Authentication shared by the HTTP plugins and the WebSocket hub.
pub mod admin_token;
pub mod jwt;
