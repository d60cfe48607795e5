//! RFC 6455, server side: the opening handshake, frame encoding, an
//! incremental decoder of client frames, a per-client send queue of
//! pre-framed bytes, and the task that drives one upgraded connection.
//!
//! Frames are built once as [`bytes::Bytes`] so a broadcast can hand the same
//! buffer to every recipient's [`Outbox`].
pub mod close_code;
pub mod conn;
pub mod decoder;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod outbox;

#[cfg(test)]
pub(crate) mod test_frames;

pub use conn::{run, ConnConfig, Ended, MessageHandler};
pub use decoder::{Decoder, Incoming, Limits, ProtocolError};
pub use frame::Opcode;
pub use handshake::{check, is_upgrade, HandshakeError};
pub use outbox::{Outbox, OutboxLimits, Push};
