//! Errors of the supervisor's API; a worker's own troubles (crashes, not
//! ready) are states (`InstanceState::Failed { reason }`), not errors.
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// A spec or the runtime directory cannot be used (names the service).
    Setup(String),
    UnknownService(String),
    /// The supervisor was stopped (or is stopping).
    Stopped,
    /// A rolling restart's new instance did not become ready; the old one keeps serving.
    RollingRestart {
        service: String,
        instance: usize,
        reason: String,
    },
    /// `Supervisor::wait_for` gave up.
    Timeout {
        waited: Duration,
        what: String,
    },
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Setup(msg) => write!(f, "gateway: {msg}"),
            GatewayError::UnknownService(name) => write!(f, "gateway: unknown service {name:?}"),
            GatewayError::Stopped => write!(f, "gateway: the supervisor is stopped"),
            GatewayError::RollingRestart {
                service,
                instance,
                reason,
            } => write!(
                f,
                "gateway: rolling restart of {service}#{instance} failed, the old instance keeps serving: {reason}"
            ),
            GatewayError::Timeout { waited, what } => {
                write!(f, "gateway: {what} not reached within {}", human(*waited))
            }
        }
    }
}

impl std::error::Error for GatewayError {}

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
