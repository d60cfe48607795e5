//! One connected client: identity, send queue and the rooms it is in.
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::{json, Value};

use super::identity::Identity;
use super::ws::Outbox;

pub struct Client {
    pub identity: Identity,
    /// This connection's number (unique in the process): tells a client id's
    /// connections apart when the same id connects again.
    pub seq: u64,
    pub outbox: Arc<Outbox>,
    pub rooms: Mutex<HashSet<Arc<str>>>,
    /// Milliseconds since the epoch.
    pub connected_at: u64,
    pub remote: Option<IpAddr>,
    /// How many messages per second this client may send.
    pub limiter: Limiter,
    /// Messages of this client waiting for their TypeScript handler.
    pub waiting: AtomicU32,
}

/// A token bucket: `rate` messages per second, bursts up to `rate`.
pub struct Limiter {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl Limiter {
    /// `rate` 0: unlimited.
    pub fn new(rate: u32) -> Limiter {
        let rate = f64::from(rate);
        Limiter {
            rate,
            state: Mutex::new((rate, Instant::now())),
        }
    }

    /// Takes one token; false when the client sends too fast.
    pub fn allow(&self) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let mut st = self.state.lock();
        let now = Instant::now();
        let refill = now.duration_since(st.1).as_secs_f64() * self.rate;
        st.0 = (st.0 + refill).min(self.rate);
        st.1 = now;
        if st.0 >= 1.0 {
            st.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Client {
    pub fn id(&self) -> &str {
        &self.identity.id
    }

    /// What `clients()` and `GET /api/clients` report.
    pub fn info(&self) -> Value {
        let mut rooms: Vec<String> = self.rooms.lock().iter().map(|r| r.to_string()).collect();
        rooms.sort();
        json!({
            "id": self.identity.id,
            "username": self.identity.username,
            "anonymous": self.identity.anonymous,
            "permissions": self.identity.permissions,
            "rooms": rooms,
            "connected_at": self.connected_at,
            "remote_addr": self.remote.map(|a| a.to_string()),
            "queued_messages": self.outbox.len(),
            "queued_bytes": self.outbox.queued_bytes(),
        })
    }
}
