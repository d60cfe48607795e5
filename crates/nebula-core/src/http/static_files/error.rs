//! Why static mounts cannot be set up: a `cache` value, a prefix, or a root
//! folder. A root that does not exist (or is not a folder) is the caller's
//! configuration; any other I/O error reading it is a failure.
use std::path::PathBuf;

use crate::kernel::{Classify, ErrorKind};

/// A `cache` value that is neither a boolean nor a non-negative number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("static cache must be a boolean or a non-negative number of seconds, got {got}")]
pub struct CachePolicyError {
    /// The value as given (JSON text).
    pub got: String,
}

impl Classify for CachePolicyError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Invalid
    }
}

/// A mount (`static[index]`) that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum StaticError {
    #[error("static[{index}]: invalid prefix: {reason}")]
    Prefix { index: usize, reason: String },
    #[error(
        "static[{index}] (prefix {prefix:?}): root {} does not exist or is not accessible: {source}",
        .root.display()
    )]
    Root {
        index: usize,
        prefix: String,
        root: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("static[{index}] (prefix {prefix:?}): root {} is not a directory", .root.display())]
    NotADirectory {
        index: usize,
        prefix: String,
        root: PathBuf,
    },
}

impl Classify for StaticError {
    fn kind(&self) -> ErrorKind {
        match self {
            StaticError::Root { source, .. } if source.kind() != std::io::ErrorKind::NotFound => {
                ErrorKind::Failed
            }
            _ => ErrorKind::Invalid,
        }
    }
}
