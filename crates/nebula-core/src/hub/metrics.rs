//! The hub's Prometheus series (GoHub's names under `nebula_hub_`).
use std::fmt::Write;

use crate::support::prometheus::{family, single};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The metric name prefix.
pub const PREFIX: &str = "nebula_hub_";

const SIZE_BUCKETS: [f64; 8] = [
    64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0,
];
const LATENCY_BUCKETS: [f64; 9] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25,
];

/// A fixed-bucket histogram updated without locks.
pub struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    buckets: [AtomicU64; N],
    count: AtomicU64,
    /// Sum in millionths of the unit, so it stays an integer.
    sum_micro: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    const fn new(bounds: &'static [f64; N]) -> Self {
        Histogram {
            bounds,
            buckets: [const { AtomicU64::new(0) }; N],
            count: AtomicU64::new(0),
            sum_micro: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micro
            .fetch_add((value * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        family(out, &format!("{PREFIX}{name}"), "histogram", help);
        let mut cumulative = 0;
        for (b, n) in self.bounds.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{PREFIX}{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{PREFIX}{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micro.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "{PREFIX}{name}_sum {sum}\n{PREFIX}{name}_count {count}"
        );
    }
}

macro_rules! counters {
    ($($field:ident => $help:literal,)*) => {
        /// The hub's counters.
        pub struct HubMetrics {
            $(pub $field: AtomicU64,)*
            pub message_size: Histogram<8>,
            pub message_latency: Histogram<9>,
        }

        impl Default for HubMetrics {
            fn default() -> Self {
                HubMetrics {
                    $($field: AtomicU64::new(0),)*
                    message_size: Histogram::new(&SIZE_BUCKETS),
                    message_latency: Histogram::new(&LATENCY_BUCKETS),
                }
            }
        }

        impl HubMetrics {
            fn render_counters(&self, out: &mut String) {
                $(
                    let name = concat!(stringify!($field), "_total");
                    single(out, &format!("{PREFIX}{name}"), "counter", $help, self.$field.load(Ordering::Relaxed));
                )*
            }

            /// The counters as JSON (for `GET /api/stats`).
            pub fn counters_json(&self) -> serde_json::Value {
                serde_json::json!({ $(stringify!($field): self.$field.load(Ordering::Relaxed),)* })
            }
        }
    };
}

counters! {
    connections => "WebSocket connections accepted.",
    messages => "Messages received from clients.",
    messages_sent => "Messages queued to clients (one per recipient).",
    bytes_received => "Payload bytes received from clients.",
    bytes_sent => "Payload bytes queued to clients (one per recipient).",
    room_joins => "Successful room joins.",
    room_leaves => "Room leaves (including on disconnect).",
    room_messages => "Room messages sent by clients.",
    direct_messages => "Direct messages sent by clients.",
    broadcasts => "Broadcasts from the server SDK or the HTTP API.",
    errors => "Error messages sent to clients.",
    auth_success => "Connections whose token was verified.",
    auth_failure => "Connections refused for a missing or invalid token.",
    rejected => "Upgrades refused (origin, connection cap, bad handshake).",
    dropped_messages => "Messages dropped for a client whose send queue was full.",
    slow_clients => "Clients disconnected because their send queue was full.",
    replaced => "Connections closed because the same client id connected again.",
}

impl HubMetrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe_latency(&self, took: Duration) {
        self.message_latency.observe(took.as_secs_f64());
    }

    /// The exposition text: gauges given by the hub, then counters and histograms.
    pub fn render(&self, out: &mut String, clients: usize, rooms: usize) {
        for (name, help, v) in [
            ("connected_clients", "Clients connected now.", clients),
            ("active_rooms", "Rooms that exist now.", rooms),
        ] {
            single(out, &format!("{PREFIX}{name}"), "gauge", help, v);
        }
        self.render_counters(out);
        self.message_size.render(
            out,
            "message_size_bytes",
            "Size of messages received from clients.",
        );
        self.message_latency.render(
            out,
            "message_latency_seconds",
            "Time to handle a message received from a client (built-in types; custom types until handed to TypeScript).",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = HubMetrics::default();
        HubMetrics::inc(&m.messages);
        m.message_size.observe(100.0);
        m.message_size.observe(5_000_000.0);
        let mut out = String::new();
        m.render(&mut out, 3, 1);
        assert!(out.contains(
            "# TYPE nebula_hub_connected_clients gauge\nnebula_hub_connected_clients 3\n"
        ));
        assert!(out.contains("nebula_hub_active_rooms 1\n"));
        assert!(
            out.contains("# TYPE nebula_hub_messages_total counter\nnebula_hub_messages_total 1\n")
        );
        assert!(out.contains("nebula_hub_message_size_bytes_bucket{le=\"64\"} 0\n"));
        assert!(out.contains("nebula_hub_message_size_bytes_bucket{le=\"256\"} 1\n"));
        assert!(out.contains("nebula_hub_message_size_bytes_bucket{le=\"+Inf\"} 2\n"));
        assert!(out.contains("nebula_hub_message_size_bytes_count 2\n"));
        assert_eq!(m.counters_json()["messages"], 1);
    }
}
