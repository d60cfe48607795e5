//! Errors of the leases: options that cannot be used ([`CoordConfigError`]),
//! a lease operation that failed ([`CoordError`]: a bad key or owner, or a
//! backend that did not answer) and a cron expression without a next time
//! ([`CronNextError`]).
use std::time::Duration;

use crate::kernel::error::options_error;
use crate::kernel::{Classify, ErrorKind};
use crate::support::error::{CronError, OptionError};

/// The coordinator's options cannot be used; the text names the option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordConfigError {
    /// An option missing, unknown or of the wrong type.
    #[error("{0}")]
    Invalid(String),
    /// `timeoutMs` out of its range.
    #[error("coordinator ({kind}): {source}")]
    Option {
        kind: String,
        #[source]
        source: OptionError,
    },
    /// A server URL that cannot be used (`backend` is `redis` or `nats`).
    #[error("coordinator ({backend}): url: {reason}")]
    Url {
        backend: &'static str,
        reason: String,
    },
    #[error("coordinator (nats): bucket: {0}")]
    Bucket(String),
}

options_error!(CoordConfigError::Invalid);

/// A failed lease operation, with what was attempted where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{backend} {op} {key:?}: {reason}")]
pub struct CoordError {
    pub backend: &'static str,
    pub op: &'static str,
    pub key: String,
    #[source]
    pub reason: OpFailure,
}

/// Why a lease operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpFailure {
    /// The key or the owner is empty or too long (the caller's argument).
    #[error("{0}")]
    BadArgument(&'static str),
    /// No connection within the timeout.
    #[error("no connection within {0:?}")]
    ConnectTimeout(Duration),
    /// The connection (or the bucket) could not be made; the text says where.
    #[error("{0}")]
    Connect(String),
    /// The backend did not answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The backend answered with an error.
    #[error("{0}")]
    Backend(String),
}

impl CoordError {
    pub fn new(backend: &'static str, op: &'static str, key: &str, reason: OpFailure) -> Self {
        CoordError {
            backend,
            op,
            key: key.to_owned(),
            reason,
        }
    }
}

impl Classify for CoordError {
    fn kind(&self) -> ErrorKind {
        match self.reason {
            OpFailure::BadArgument(_) => ErrorKind::Invalid,
            OpFailure::ConnectTimeout(_)
            | OpFailure::Connect(_)
            | OpFailure::Timeout(_)
            | OpFailure::Backend(_) => ErrorKind::Failed,
        }
    }
}

/// A cron expression without a next fire time (always the caller's input).
#[derive(Debug, thiserror::Error)]
pub enum CronNextError {
    #[error(transparent)]
    Cron(#[from] CronError),
    #[error("time {0} is out of range")]
    TimeOutOfRange(i64),
    #[error("cron expression {expr:?} never matches after {after}: {source}")]
    NeverMatches {
        expr: String,
        after: String,
        #[source]
        source: croner::errors::CronError,
    },
}

impl Classify for CronNextError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Invalid
    }
}
