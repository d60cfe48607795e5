//! Why the composition root refused something.
use crate::jsvm::LoadError;

#[derive(Debug)]
pub enum AppError {
    /// Routes, mounts, hubs, script VMs and gateways are added before `build`.
    Built,
    /// `build` was called twice.
    AlreadyBuilt,
    /// Serving, or answering, needs `build` first.
    NotBuilt,
    /// Mounts that cannot be served together (e.g. two on one path).
    Mounts(String),
    /// The script VM's hook files did not load.
    Jsvm(LoadError),
    /// The server could not listen.
    Listen(std::io::Error),
    /// A gateway's workers could not start (nothing was left running).
    Services(String),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Built => {
                f.write_str("routes can only be added before the engine serves requests")
            }
            AppError::AlreadyBuilt => f.write_str("the engine is already built"),
            AppError::NotBuilt => f.write_str("the engine is not built yet"),
            AppError::Mounts(e) => f.write_str(e),
            AppError::Jsvm(e) => write!(f, "jsvm: {e}"),
            AppError::Listen(e) => write!(f, "{e}"),
            AppError::Services(e) => write!(f, "services: {e}"),
        }
    }
}

impl std::error::Error for AppError {}
