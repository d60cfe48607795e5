//! Why the composition root refused something, and whose fault it is.
use crate::gateway::error::ServicesError;
use crate::jsvm::LoadError;
use crate::kernel::{Classify, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Routes, mounts, hubs, script VMs and gateways are added before `build`.
    #[error("routes can only be added before the engine serves requests")]
    Built,
    /// `build` was called twice.
    #[error("the engine is already built")]
    AlreadyBuilt,
    /// Serving, or answering, needs `build` first.
    #[error("the engine is not built yet")]
    NotBuilt,
    /// Mounts that cannot be served together (e.g. two on one path).
    #[error("{0}")]
    Mounts(String),
    /// The script VM's hook files did not load.
    #[error("jsvm: {0}")]
    Jsvm(#[source] LoadError),
    /// The server could not listen.
    #[error("{0}")]
    Listen(#[source] std::io::Error),
    /// A gateway's workers could not start (nothing was left running).
    #[error("services: {0}")]
    Services(#[source] ServicesError),
}

impl Classify for AppError {
    /// Calls in the wrong order and mounts that clash are the caller's;
    /// the rest says what its cause says (a port in use is a failure).
    fn kind(&self) -> ErrorKind {
        match self {
            AppError::Built | AppError::AlreadyBuilt | AppError::NotBuilt | AppError::Mounts(_) => {
                ErrorKind::Invalid
            }
            AppError::Jsvm(e) => e.kind(),
            AppError::Listen(_) => ErrorKind::Failed,
            AppError::Services(e) => e.kind(),
        }
    }
}
