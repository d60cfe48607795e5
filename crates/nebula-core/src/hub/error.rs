//! Why the hub cannot be set up: its options (`HubPlugin({...})`, the `bus`
//! option and `NEBULA_BUS` / `NEBULA_NODE_ID` included) or a message type a
//! handler cannot take. Always the caller's input; the texts name the option.
//! (Errors of the protocol, sent to clients, are [`super::HubError`].)
use crate::auth::jwt::JwtConfigError;
use crate::kernel::error::options_error;
use crate::kernel::{Classify, ErrorKind};
use crate::support::error::OptionError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubConfigError {
    /// An option missing, unknown, of the wrong type or inconsistent with another.
    #[error("{0}")]
    Invalid(String),
    /// An integer option out of its range; `at` is where it sits
    /// (`hub: `, `hub: sendQueue.`, `hub: bus.`).
    #[error("{at}{source}")]
    Option {
        at: &'static str,
        #[source]
        source: OptionError,
    },
    /// The JWT options of `auth`.
    #[error("hub auth: {0}")]
    Auth(#[source] JwtConfigError),
    /// A value read from an environment variable (`NEBULA_BUS`, `NEBULA_NODE_ID`).
    #[error("{source} ({var})")]
    Env {
        var: &'static str,
        #[source]
        source: Box<HubConfigError>,
    },
}

options_error!(HubConfigError::Invalid);

/// A message type a handler or a hook cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageTypeError {
    #[error("{0:?} is a built-in message type")]
    BuiltIn(String),
    #[error("message type must be 1 to {max} bytes")]
    Length { max: usize },
}

impl Classify for MessageTypeError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Invalid
    }
}
