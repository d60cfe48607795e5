//! What can be observed of each worker (the supervisor's snapshot).
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::endpoint::EndpointAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceState {
    /// Spawned (or about to be), not ready yet.
    Starting,
    /// Ready: listed among the service's endpoints.
    Ready,
    /// Crashed; waiting the backoff delay before restart number `attempt`.
    Restarting { attempt: u32 },
    /// Replaced by a rolling restart: out of the endpoints, finishing its requests.
    Draining,
    /// SIGTERM sent, waiting for it to exit.
    Stopping,
    /// Stopped by the supervisor.
    Stopped,
    /// Given up on: crash loop, or a command that cannot be started.
    Failed { reason: String },
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceState::Starting => f.write_str("starting"),
            InstanceState::Ready => f.write_str("ready"),
            InstanceState::Restarting { attempt } => write!(f, "restarting (attempt {attempt})"),
            InstanceState::Draining => f.write_str("draining"),
            InstanceState::Stopping => f.write_str("stopping"),
            InstanceState::Stopped => f.write_str("stopped"),
            InstanceState::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}

/// One worker: an instance slot of a service in one generation (a rolling
/// restart starts generation + 1 next to the old one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub service: Arc<str>,
    pub instance: usize,
    pub generation: u64,
    pub addr: EndpointAddr,
    pub state: InstanceState,
    /// The running process, if any.
    pub pid: Option<u32>,
    /// Restarts after crashes (this generation).
    pub restarts: u32,
    /// When the current (or last) process was spawned.
    pub started_at: Option<SystemTime>,
    /// Why the last process ended, if it crashed.
    pub last_crash: Option<String>,
}

impl InstanceStatus {
    pub fn is_ready(&self) -> bool {
        self.state == InstanceState::Ready
    }
}
