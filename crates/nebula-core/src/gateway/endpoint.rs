//! What the proxy needs of a ready worker: its address and an in-flight
//! counter, so a draining worker is stopped only once its requests are done.
use std::fmt;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EndpointAddr {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

impl EndpointAddr {
    /// The value of the worker's `NEBULA_SOCKET`: a path, or `host:port`.
    pub fn env_value(&self) -> String {
        match self {
            EndpointAddr::Unix(path) => path.display().to_string(),
            EndpointAddr::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            EndpointAddr::Tcp { host, port } => format!("{host}:{port}"),
        }
    }
}

impl fmt::Display for EndpointAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointAddr::Unix(path) => write!(f, "unix:{}", path.display()),
            EndpointAddr::Tcp { .. } => write!(f, "tcp:{}", self.env_value()),
        }
    }
}

/// Requests in flight to one worker. The proxy holds an [`InFlightGuard`]
/// for each request it forwards.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicUsize,
    idle: Notify,
    /// Set before the worker is waited on to go idle: a request that counted
    /// itself in after that must not use it (it is about to stop).
    draining: std::sync::atomic::AtomicBool,
}

impl InFlight {
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(Arc::clone(self))
    }

    /// Marks the worker as leaving; `enter` then `is_draining` tells a late request.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn get(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until no request is in flight; false when `timeout` passed first.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut notified = pin!(self.idle.notified());
            // Registered before the check, so a guard dropped in between still wakes us.
            notified.as_mut().enable();
            if self.get() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.get() == 0;
            }
        }
    }
}

/// One request in flight; dropping it ends the request.
#[derive(Debug)]
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// A ready worker of a service.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub service: Arc<str>,
    pub instance: usize,
    /// Counts the workers started for this instance slot by rolling restarts.
    pub generation: u64,
    pub addr: EndpointAddr,
    in_flight: Arc<InFlight>,
    /// Idle connections to this worker.
    pool: Arc<super::pool::Pool>,
}

impl Endpoint {
    pub fn new(service: Arc<str>, instance: usize, generation: u64, addr: EndpointAddr) -> Self {
        Endpoint {
            service,
            instance,
            generation,
            addr,
            in_flight: Arc::default(),
            pool: Arc::default(),
        }
    }

    /// Counts a request to this worker until the guard is dropped.
    pub fn enter(&self) -> InFlightGuard {
        self.in_flight.enter()
    }

    pub fn in_flight(&self) -> &Arc<InFlight> {
        &self.in_flight
    }

    pub fn pool(&self) -> &Arc<super::pool::Pool> {
        &self.pool
    }
}

impl PartialEq for Endpoint {
    fn eq(&self, other: &Self) -> bool {
        self.service == other.service
            && self.instance == other.instance
            && self.generation == other.generation
            && self.addr == other.addr
    }
}

impl Eq for Endpoint {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_until_the_last_request_ends() {
        let e = Endpoint::new("api".into(), 0, 0, EndpointAddr::Unix("/tmp/x.sock".into()));
        assert!(e.in_flight().wait_idle(Duration::ZERO).await);
        let a = e.enter();
        let b = e.enter();
        assert_eq!(e.in_flight().get(), 2);
        assert!(!e.in_flight().wait_idle(Duration::from_millis(20)).await);
        let waiter = tokio::spawn({
            let f = Arc::clone(e.in_flight());
            async move { f.wait_idle(Duration::from_secs(10)).await }
        });
        drop(a);
        tokio::task::yield_now().await;
        drop(b);
        assert!(waiter.await.unwrap());
        assert_eq!(e.in_flight().get(), 0);
    }

    #[test]
    fn addresses_render_for_env_and_logs() {
        let tcp = EndpointAddr::Tcp {
            host: "::1".into(),
            port: 80,
        };
        assert_eq!(tcp.env_value(), "[::1]:80");
        assert_eq!(tcp.to_string(), "tcp:[::1]:80");
        let unix = EndpointAddr::Unix("/run/a.sock".into());
        assert_eq!(unix.env_value(), "/run/a.sock");
        assert_eq!(unix.to_string(), "unix:/run/a.sock");
    }
}
