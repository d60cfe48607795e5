//! The gateway's worker supervisor (pure Rust, no napi): starts and
//! supervises the service workers (PHP, Python, Node…) the gateway proxies
//! to, each instance on a socket of its own given in `NEBULA_SOCKET`.
//!
//! - `config`: service specs from JSON (errors name the field).
//! - `socket`: worker addresses, runtime dir, `sun_path` limit, stale files.
//! - `process`: spawn (own process group, dies with the engine), output to
//!   `tracing`, SIGTERM → SIGKILL.
//! - `readiness`: connect + `GET healthPath` over the socket, polled with backoff.
//! - `backoff`: restart delay and crash-loop limit.
//! - `worker`: the task supervising one worker; `registry`: shared state,
//!   snapshot and endpoints; `supervisor`: the API; `rolling`: rolling restart.
//! - `endpoint`: what the proxy uses: address + in-flight counter.
//! - `proxy`: forwarding one request over a worker's socket; `routes`: the
//!   dynamic routes (inside the native layers) choosing the least busy
//!   ready worker; `services`: `ServicesPlugin`'s options, start/stop, status.
//!
//! May import `kernel`, `support` and `http` (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
mod backoff;
pub mod config;
pub mod endpoint;
pub mod error;
mod forward;
mod pool;
mod process;
pub mod proxy;
mod readiness;
mod registry;
mod rolling;
pub mod routes;
mod services;
pub mod socket;
pub mod status;
mod supervisor;
mod unit;
mod upstream_body;
mod watch;
mod worker;

pub use config::{parse_services, BackoffSpec, CrashLoopSpec, ServiceSpec, SocketSpec};
pub use endpoint::{Endpoint, EndpointAddr, InFlight, InFlightGuard};
pub use error::GatewayError;
pub use services::Gateway;
pub use status::{InstanceState, InstanceStatus};
pub use supervisor::{Supervisor, SupervisorOptions};

#[cfg(test)]
mod tests;
