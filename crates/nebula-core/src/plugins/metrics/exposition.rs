//! The metrics plugin's exposition: per-route series and the engine's counters,
//! in the Prometheus text format (support::prometheus).
use std::fmt::Write as _;

use super::series::SeriesSnapshot;
use crate::kernel::StatsSnapshot;
pub use crate::support::prometheus::CONTENT_TYPE;
use crate::support::prometheus::{family, label_value};

/// `{method="…",route="…"` without the closing brace.
fn open_labels(out: &mut String, s: &SeriesSnapshot) {
    out.push_str("{method=\"");
    label_value(&s.method, out);
    out.push_str("\",route=\"");
    label_value(&s.route, out);
    out.push('"');
}

/// Renders the per-route series and the engine's counters.
pub fn render(
    prefix: &str,
    bounds: &[f64],
    series: &[SeriesSnapshot],
    stats: &StatsSnapshot,
    overflow: u64,
) -> String {
    let mut out = String::with_capacity(512 + series.len() * (256 + bounds.len() * 96));

    let requests = format!("{prefix}http_requests_total");
    family(
        &mut out,
        &requests,
        "counter",
        "HTTP requests answered by route handlers, by method, route and status.",
    );
    for s in series {
        for (status, n) in &s.statuses {
            out.push_str(&requests);
            open_labels(&mut out, s);
            let _ = writeln!(out, ",status=\"{status}\"}} {n}");
        }
    }

    let duration = format!("{prefix}http_request_duration_seconds");
    family(
        &mut out,
        &duration,
        "histogram",
        "Time from receiving a request to having its answer, by method and route.",
    );
    for s in series {
        let count = s.cumulative.last().copied().unwrap_or(0);
        for (i, n) in s.cumulative.iter().enumerate() {
            let _ = write!(out, "{duration}_bucket");
            open_labels(&mut out, s);
            match bounds.get(i) {
                Some(le) => {
                    let _ = writeln!(out, ",le=\"{le}\"}} {n}");
                }
                None => {
                    let _ = writeln!(out, ",le=\"+Inf\"}} {n}");
                }
            }
        }
        let _ = write!(out, "{duration}_sum");
        open_labels(&mut out, s);
        let _ = writeln!(out, "}} {}", s.sum_seconds);
        let _ = write!(out, "{duration}_count");
        open_labels(&mut out, s);
        let _ = writeln!(out, "}} {count}");
    }

    let gauges = [
        (
            "requests_in_flight",
            "gauge",
            "Requests being handled now.",
            stats.in_flight,
        ),
        (
            "requests_received_total",
            "counter",
            "Requests received, including those answered without a route handler.",
            stats.requests,
        ),
        (
            "js_calls_total",
            "counter",
            "Calls from Rust into JavaScript handlers.",
            stats.js_calls,
        ),
    ];
    for (name, kind, help, value) in gauges {
        let name = format!("{prefix}{name}");
        family(&mut out, &name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    if overflow > 0 {
        let name = format!("{prefix}metrics_unrecorded_total");
        family(
            &mut out,
            &name,
            "counter",
            "Requests not recorded because the series limit was reached.",
        );
        let _ = writeln!(out, "{name} {overflow}");
    }
    out
}
