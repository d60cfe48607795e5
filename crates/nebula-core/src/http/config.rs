//! Server limits, all with defaults that serve one machine.
use std::time::Duration;

/// Limits and timeouts of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted; larger → 413. Default 1 MiB.
    pub body_limit: usize,
    /// How long a handler may take before the client gets 503. Default 30 s.
    pub handler_timeout: Duration,
    /// How long a client may take to send the request head. Default 10 s.
    pub header_timeout: Duration,
    /// How long a client may take to send the request body. Default 30 s.
    pub body_timeout: Duration,
    /// Open connections at most; further clients wait in the accept backlog. Default 10 000.
    pub max_connections: usize,
    /// Request headers at most. Default 100.
    pub max_headers: usize,
    /// How long `stop()` waits for in-flight requests before closing. Default 30 s.
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit: 1024 * 1024,
            handler_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_headers: 100,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}
