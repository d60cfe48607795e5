//! Counters a user (and a test) can read to see what crossed the boundary.
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default, Debug)]
pub struct Stats {
    requests: AtomicU64,
    js_calls: AtomicU64,
    in_flight: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Requests received (socket and in-process).
    pub requests: u64,
    /// Times Rust called into JavaScript to run a handler.
    pub js_calls: u64,
    /// Requests being handled now.
    pub in_flight: u64,
}

impl Stats {
    pub fn request_started(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }
    pub fn request_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn js_call(&self) {
        self.js_calls.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            js_calls: self.js_calls.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
        }
    }
}
