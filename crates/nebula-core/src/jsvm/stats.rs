//! Counters of the script VM and the time per hook (p50/p99 over the last
//! [`WINDOW`] runs), for the stats endpoint and `/metrics`.
use crate::support::prometheus::{family, single};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::cron::Running;
use super::pool::{self, Shared};

/// Runs kept per hook for the percentiles.
pub const WINDOW: usize = 1024;

#[derive(Default)]
pub struct Stats {
    pub executions: AtomicU64,
    pub errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub resets: AtomicU64,
    pub busy: AtomicU64,
    pub queue_timeouts: AtomicU64,
    pub abandoned: AtomicU64,
    /// Slices stopped past their deadline inside native calls (by refusing
    /// their large allocations) without giving their thread up.
    pub native_stops: AtomicU64,
    pub reload_errors: AtomicU64,
    /// Failed attempts at rebuilding a runtime (an error, or registrations
    /// that differ from the generation's).
    pub rebuild_retries: AtomicU64,
    hooks: Mutex<HashMap<Arc<str>, Ring>>,
    /// Cron jobs running now, across the generations of one `Jsvm`.
    pub cron_running: Arc<Running>,
    /// The pool of the generation serving (for `healthy`).
    current: Mutex<Weak<Shared>>,
}

#[derive(Default)]
struct Ring {
    samples: Vec<f64>,
    next: usize,
    count: u64,
    errors: u64,
}

impl Stats {
    /// One execution of `label` ended after `ms` milliseconds.
    pub fn record(&self, label: &Arc<str>, ms: f64, ok: bool) {
        self.executions.fetch_add(1, Relaxed);
        if !ok {
            self.errors.fetch_add(1, Relaxed);
        }
        let mut hooks = self.hooks.lock();
        let ring = hooks.entry(label.clone()).or_default();
        if ring.samples.len() < WINDOW {
            ring.samples.push(ms);
        } else {
            ring.samples[ring.next] = ms;
        }
        ring.next = (ring.next + 1) % WINDOW;
        ring.count += 1;
        if !ok {
            ring.errors += 1;
        }
    }

    /// Forgets hooks that no longer exist (after a reload).
    pub fn retain(&self, labels: &HashSet<Arc<str>>) {
        self.hooks.lock().retain(|k, _| labels.contains(k));
    }

    /// `{label: {count, errors, p50Ms, p99Ms}}`.
    pub fn hooks_json(&self) -> serde_json::Value {
        let hooks = self.hooks.lock();
        let mut out = serde_json::Map::new();
        for (label, ring) in hooks.iter() {
            let (p50, p99) = percentiles(&ring.samples);
            out.insert(
                label.to_string(),
                serde_json::json!({ "count": ring.count, "errors": ring.errors, "p50Ms": p50, "p99Ms": p99 }),
            );
        }
        serde_json::Value::Object(out)
    }

    /// The pool of the generation that became current.
    pub fn set_current(&self, pool: &Arc<Shared>) {
        *self.current.lock() = Arc::downgrade(pool);
    }

    /// Every worker of the serving pool is up, and the process has room
    /// left for stuck threads (past that, stuck workers are not replaced).
    pub fn healthy(&self) -> bool {
        let pool_ok = self.current.lock().upgrade().is_none_or(|s| s.healthy());
        pool_ok && !pool::stuck_cap_reached()
    }

    pub fn counters_json(&self) -> serde_json::Value {
        serde_json::json!({
            "healthy": self.healthy(),
            "stuckThreads": pool::stuck_threads(),
            "executions": self.executions.load(Relaxed),
            "errors": self.errors.load(Relaxed),
            "timeouts": self.timeouts.load(Relaxed),
            "runtimeResets": self.resets.load(Relaxed),
            "busyRejections": self.busy.load(Relaxed),
            "queueTimeouts": self.queue_timeouts.load(Relaxed),
            "abandonedWorkers": self.abandoned.load(Relaxed),
            "nativeStops": self.native_stops.load(Relaxed),
            "reloadErrors": self.reload_errors.load(Relaxed),
            "rebuildRetries": self.rebuild_retries.load(Relaxed),
        })
    }

    /// Prometheus text (prefix `nebula_jsvm_`).
    pub fn render(&self, out: &mut String, gauges: &[(&str, &str, u64)]) {
        let counters = [
            ("executions_total", "Script executions", &self.executions),
            ("errors_total", "Executions that failed", &self.errors),
            (
                "timeouts_total",
                "Executions past their deadline",
                &self.timeouts,
            ),
            (
                "runtime_resets_total",
                "Runtimes replaced after a limit was hit",
                &self.resets,
            ),
            (
                "busy_total",
                "Requests refused with 503 because the pool was full",
                &self.busy,
            ),
            (
                "queue_timeouts_total",
                "Tasks that waited too long for a runtime",
                &self.queue_timeouts,
            ),
            (
                "abandoned_workers_total",
                "Workers stuck in native code and replaced",
                &self.abandoned,
            ),
            (
                "native_stops_total",
                "Scripts stopped past their deadline inside native calls (large allocations refused)",
                &self.native_stops,
            ),
            (
                "reload_errors_total",
                "Reloads that kept the previous generation",
                &self.reload_errors,
            ),
            (
                "rebuild_retries_total",
                "Failed attempts at rebuilding a runtime",
                &self.rebuild_retries,
            ),
        ];
        for (name, help, v) in counters {
            single(
                out,
                &format!("nebula_jsvm_{name}"),
                "counter",
                help,
                v.load(Relaxed),
            );
        }
        for (name, help, v) in gauges {
            single(out, &format!("nebula_jsvm_{name}"), "gauge", help, v);
        }
        let hooks = self.hooks.lock();
        let mut labels: Vec<_> = hooks.keys().cloned().collect();
        labels.sort();
        family(
            out,
            "nebula_jsvm_hook_duration_ms",
            "summary",
            &format!("Time per hook run (last {WINDOW} runs)"),
        );
        for label in &labels {
            let ring = &hooks[label];
            let (p50, p99) = percentiles(&ring.samples);
            let l = escape(label);
            let _ = writeln!(
                out,
                "nebula_jsvm_hook_duration_ms{{hook=\"{l}\",quantile=\"0.5\"}} {p50}"
            );
            let _ = writeln!(
                out,
                "nebula_jsvm_hook_duration_ms{{hook=\"{l}\",quantile=\"0.99\"}} {p99}"
            );
            let _ = writeln!(
                out,
                "nebula_jsvm_hook_duration_ms_count{{hook=\"{l}\"}} {}",
                ring.count
            );
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn percentiles(samples: &[f64]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        (v[i.min(v.len() - 1)] * 1000.0).round() / 1000.0
    };
    (at(0.5), at(0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_over_the_window() {
        let s = Stats::default();
        let l: Arc<str> = Arc::from("GET /x");
        for i in 1..=100 {
            s.record(&l, i as f64, i != 100);
        }
        let h = s.hooks_json();
        assert_eq!(h["GET /x"]["count"], 100);
        assert_eq!(h["GET /x"]["errors"], 1);
        assert_eq!(h["GET /x"]["p50Ms"], 51.0);
        assert_eq!(h["GET /x"]["p99Ms"], 99.0);
        let mut out = String::new();
        s.render(&mut out, &[("pool_size", "Runtimes", 2)]);
        assert!(out.contains("nebula_jsvm_executions_total 100"), "{out}");
        assert!(out.contains("nebula_jsvm_pool_size 2"), "{out}");
        assert!(
            out.contains("hook=\"GET /x\",quantile=\"0.99\"} 99"),
            "{out}"
        );
        s.retain(&HashSet::new());
        assert_eq!(s.hooks_json(), serde_json::json!({}));
    }
}
