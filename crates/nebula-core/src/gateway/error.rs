//! The gateway's errors, one type per boundary: `ServicesPlugin` options
//! ([`GatewayConfigError`]), the gateway as the engine drives it
//! ([`ServicesError`]), the supervisor's API ([`GatewayError`]), worker
//! addresses ([`SocketError`]), readiness probes ([`ReadyError`]) and why a
//! worker process ended ([`WorkerFailure`]). A worker's own troubles are
//! states (`InstanceState::Failed { reason }`, the failure's text), not errors.
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::socket::SUN_PATH_MAX;
use crate::kernel::error::options_error;
use crate::kernel::{Classify, ErrorKind};
use crate::support::error::OptionError;

/// `ServicesPlugin` options that cannot be used; the text names the field
/// (`services[1].routes: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayConfigError {
    #[error("{0}")]
    Invalid(String),
    /// An integer option of a service out of its range (`at` is `services[i]`).
    #[error("{at}.{source}")]
    Option {
        at: String,
        #[source]
        source: OptionError,
    },
}

options_error!(GatewayConfigError::Invalid);

/// The gateway as the engine drives it: start, rolling restart, update.
#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error(transparent)]
    Config(#[from] GatewayConfigError),
    #[error("runtimeDir: cannot change while the engine runs (restart to apply)")]
    RuntimeDirChanged,
    #[error("the gateway has not started")]
    NotStarted,
    #[error("no service named {0:?}")]
    UnknownService(String),
    /// The supervisor refused (its own kind: a bad spec, or a restart that failed).
    #[error(transparent)]
    Supervisor(#[from] GatewayError),
    /// Not called inside the tokio runtime.
    #[error("{0}")]
    NoRuntime(#[source] tokio::runtime::TryCurrentError),
    /// A service's `watch` paths could not be watched (`{service}.watch: …`).
    #[error("{0}")]
    Watch(String),
}

impl Classify for ServicesError {
    fn kind(&self) -> ErrorKind {
        match self {
            ServicesError::Config(_)
            | ServicesError::RuntimeDirChanged
            | ServicesError::UnknownService(_) => ErrorKind::Invalid,
            ServicesError::Supervisor(e) => e.kind(),
            ServicesError::NotStarted | ServicesError::NoRuntime(_) | ServicesError::Watch(_) => {
                ErrorKind::Failed
            }
        }
    }
}

/// Errors of the supervisor's API.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A spec that cannot be used (names the service).
    #[error("gateway: {0}")]
    Spec(String),
    /// A worker address or the runtime directory cannot be used.
    #[error("gateway: {0}")]
    Socket(#[source] SocketError),
    /// The supervisor cannot run here (no tokio runtime, no current directory).
    #[error("gateway: {0}")]
    Setup(String),
    #[error("gateway: unknown service {0:?}")]
    UnknownService(String),
    /// The supervisor was stopped (or is stopping).
    #[error("gateway: the supervisor is stopped")]
    Stopped,
    /// A rolling restart's new instance did not become ready; the old one keeps serving.
    #[error(
        "gateway: rolling restart of {service}#{instance} failed, the old instance keeps serving: {reason}"
    )]
    RollingRestart {
        service: String,
        instance: usize,
        reason: String,
    },
    /// `Supervisor::wait_for` gave up.
    #[error("gateway: {what} not reached within {}", human(*.waited))]
    Timeout { waited: Duration, what: String },
}

impl Classify for GatewayError {
    fn kind(&self) -> ErrorKind {
        match self {
            GatewayError::Spec(_) | GatewayError::UnknownService(_) => ErrorKind::Invalid,
            GatewayError::Socket(e) => e.kind(),
            GatewayError::Setup(_)
            | GatewayError::Stopped
            | GatewayError::RollingRestart { .. }
            | GatewayError::Timeout { .. } => ErrorKind::Failed,
        }
    }
}

/// A worker address, the runtime directory or a socket file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The runtime directory could not be created or read.
    #[error("runtime dir {}: {source}", .dir.display())]
    RuntimeDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("runtime dir {}: not a directory (or a symlink)", .dir.display())]
    RuntimeDirNotADirectory { dir: PathBuf },
    #[error(
        "runtime dir {}: must be owned by uid {uid} and not writable by others (owner {owner}, mode {mode:o})",
        .dir.display()
    )]
    RuntimeDirUnsafe {
        dir: PathBuf,
        uid: u32,
        owner: u32,
        mode: u32,
    },
    #[error("{service}: port {port}+{offset} is past 65535")]
    PortPast65535 {
        service: String,
        port: u16,
        offset: usize,
    },
    #[error(
        "socket path {} is {len} bytes, a Unix socket path can have at most {SUN_PATH_MAX} (sun_path is 108 bytes): use a shorter runtime dir, socket path or service name",
        .path.display()
    )]
    PathTooLong { path: PathBuf, len: usize },
    /// An error of service `service`'s address.
    #[error("{service}: {source}")]
    Service {
        service: String,
        #[source]
        source: Box<SocketError>,
    },
    /// A socket file could not be inspected or probed.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} exists and is not a socket; not removing it", .path.display())]
    NotASocket { path: PathBuf },
    #[error("cannot remove stale socket {}: {source}", .path.display())]
    RemoveStale {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Someone else listens on the worker's address.
    #[error("{addr} is in use by another process")]
    InUse { addr: String },
}

impl Classify for SocketError {
    fn kind(&self) -> ErrorKind {
        match self {
            SocketError::RuntimeDirNotADirectory { .. }
            | SocketError::RuntimeDirUnsafe { .. }
            | SocketError::PortPast65535 { .. }
            | SocketError::PathTooLong { .. } => ErrorKind::Invalid,
            SocketError::Service { source, .. } => source.kind(),
            SocketError::RuntimeDir { .. }
            | SocketError::Io { .. }
            | SocketError::NotASocket { .. }
            | SocketError::RemoveStale { .. }
            | SocketError::InUse { .. } => ErrorKind::Failed,
        }
    }
}

/// Why a worker is not ready (yet).
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    #[error("no socket yet")]
    NoSocket,
    #[error("connection refused")]
    Refused,
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    /// Sending the health request or reading its answer failed.
    #[error("GET {path}: {source}")]
    Request {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("GET {path} answered {code}")]
    Status { path: String, code: u16 },
    #[error("GET {path}: connection closed without an answer")]
    Closed { path: String },
    #[error("GET {path}: not an HTTP answer: {line:?}")]
    NotHttp { path: String, line: String },
    /// One probe took too long.
    #[error("no answer")]
    NoAnswer,
    #[error("no probe finished")]
    NoProbe,
    /// The ready timeout passed; `last` is the last probe's outcome.
    #[error("not ready within {}: {last}", human(*.waited))]
    NotReady {
        waited: Duration,
        #[source]
        last: Box<ReadyError>,
    },
}

impl Classify for ReadyError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Failed
    }
}

/// Why a worker process ended (or never ran): the reason of its crash.
#[derive(Debug, thiserror::Error)]
pub enum WorkerFailure {
    /// Its address could not be prepared.
    #[error(transparent)]
    Socket(SocketError),
    /// The program could not be started.
    #[error("cannot start {program:?}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    /// It exited (how: `exited with code 4`) before it was ready.
    #[error("{0} before it was ready")]
    ExitedBeforeReady(String),
    /// It exited after it was ready.
    #[error("{0}")]
    Exited(String),
    #[error("waiting for the process: {0}")]
    Wait(#[source] io::Error),
    #[error(transparent)]
    NotReady(ReadyError),
}

impl WorkerFailure {
    /// Starting again cannot help: the program is missing or not executable.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            WorkerFailure::Spawn { source, .. }
                if matches!(source.kind(), io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied)
        )
    }
}

impl Classify for WorkerFailure {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Failed
    }
}

/// `5 s`, `250 ms`, `1.5 s`: durations in messages.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_secs(5)), "5 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
    }
}
