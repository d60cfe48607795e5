//! The WebSocket hub: clients subscribe to topics and the hub fans messages
//! out to them, framing each broadcast once and sharing the bytes.
pub mod ws;
