//! Leases in this process: a map of key → (owner, expiry) on the monotonic
//! clock. The default backend: one machine, nothing to install. Expired
//! leases are dropped when met, and swept (once the map holds 1024) when it
//! has doubled since the last sweep or 10 s have passed, so abandoned keys
//! do not pile up.
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::{check_args, CoordFuture, Coordinator, Result};

const BACKEND: &str = "local";
/// Below this many leases the map is never swept.
const SWEEP_MIN: usize = 1024;
const SWEEP_EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Leases {
    held: HashMap<String, (String, Instant)>,
    swept_len: usize,
    swept_at: Option<Instant>,
}

impl Leases {
    /// The live holder of `key` (an expired lease is removed).
    fn holder(&mut self, key: &str, now: Instant) -> Option<&str> {
        if self.held.get(key).is_some_and(|(_, until)| *until <= now) {
            self.held.remove(key);
        }
        self.held.get(key).map(|(owner, _)| owner.as_str())
    }

    fn sweep(&mut self, now: Instant) {
        let len = self.held.len();
        let doubled = len >= self.swept_len.saturating_mul(2);
        let stale = self.swept_at.is_none_or(|t| now - t >= SWEEP_EVERY);
        if len < SWEEP_MIN || !(doubled || stale) {
            return;
        }
        self.held.retain(|_, (_, until)| *until > now);
        self.swept_len = self.held.len();
        self.swept_at = Some(now);
    }
}

/// Leases in process memory.
#[derive(Clone)]
pub struct LocalCoordinator {
    prefix: String,
    leases: Arc<Mutex<Leases>>,
}

impl LocalCoordinator {
    /// A table of its own.
    pub fn new(prefix: &str) -> LocalCoordinator {
        LocalCoordinator {
            prefix: prefix.to_owned(),
            leases: Arc::default(),
        }
    }

    /// The process-wide table: every local coordinator of the process (two
    /// engines, two plugins) sees the same leases, as nodes sharing Redis would.
    pub fn shared(prefix: &str) -> LocalCoordinator {
        static SHARED: OnceLock<Arc<Mutex<Leases>>> = OnceLock::new();
        LocalCoordinator {
            prefix: prefix.to_owned(),
            leases: SHARED.get_or_init(Arc::default).clone(),
        }
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn acquire_now(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool> {
        check_args(BACKEND, "acquire", key, owner)?;
        let now = Instant::now();
        let full = self.full_key(key);
        let mut leases = self.leases.lock();
        if leases.holder(&full, now).is_some() {
            return Ok(false);
        }
        leases.sweep(now);
        leases.held.insert(full, (owner.to_owned(), now + ttl));
        Ok(true)
    }

    fn renew_now(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool> {
        check_args(BACKEND, "renew", key, owner)?;
        let now = Instant::now();
        let full = self.full_key(key);
        let mut leases = self.leases.lock();
        if leases.holder(&full, now) != Some(owner) {
            return Ok(false);
        }
        leases.held.insert(full, (owner.to_owned(), now + ttl));
        Ok(true)
    }

    fn release_now(&self, key: &str, owner: &str) -> Result<bool> {
        check_args(BACKEND, "release", key, owner)?;
        let full = self.full_key(key);
        let mut leases = self.leases.lock();
        if leases.holder(&full, Instant::now()) != Some(owner) {
            return Ok(false);
        }
        leases.held.remove(&full);
        Ok(true)
    }

    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.leases.lock().held.len()
    }
}

impl Coordinator for LocalCoordinator {
    fn acquire<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CoordFuture<'a, bool> {
        let out = self.acquire_now(key, owner, ttl);
        Box::pin(async move { out })
    }

    fn renew<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CoordFuture<'a, bool> {
        let out = self.renew_now(key, owner, ttl);
        Box::pin(async move { out })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> CoordFuture<'a, bool> {
        let out = self.release_now(key, owner);
        Box::pin(async move { out })
    }
}
