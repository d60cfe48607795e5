//! MetricsPlugin (SYSTEM): Prometheus metrics at `GET /metrics`, answered in
//! Rust.
//!
//! Each handler's layer records, when the answer passes on its way out,
//! `http_requests_total{method,route,status}` and the
//! `http_request_duration_seconds{method,route}` histogram (from
//! `ctx.started`, so the outermost layer times everything). Series are atomics;
//! a layer keeps the series it uses, so recording takes no lock after a
//! route's first request. The endpoint adds the engine's in-flight requests,
//! requests received and JavaScript calls.
pub(crate) mod exposition;
mod series;

use std::sync::{Arc, OnceLock};

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, StatusCode};
use parking_lot::RwLock;
use serde_json::Value;

use super::PluginError;
use crate::kernel::{Endpoint, LayerCtx, LayerError, NativeLayer, NativePlugin, Reply};
use series::{Registry, RouteSeries};

/// Histogram bounds (seconds) by default.
pub const DEFAULT_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Histogram bounds at most.
const MAX_BUCKETS: usize = 64;

/// Series a layer keeps besides its first (a handler with several paths or
/// methods); further ones are looked up in the registry.
const LAYER_SERIES: usize = 16;

/// The plugin: the endpoint's path, the metric name prefix and the series.
pub struct MetricsPlugin {
    path: String,
    prefix: String,
    registry: Arc<Registry>,
}

/// Creates the plugin from `{ path = "/metrics", buckets, prefix = "nebula_" }`.
pub fn create(options: &Value) -> Result<Arc<dyn NativePlugin>, PluginError> {
    Ok(Arc::new(MetricsPlugin::new(options)?))
}

fn field<'a>(options: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match options {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(map.get(key).filter(|v| !v.is_null())),
        _ => Err("metrics options must be an object".into()),
    }
}

impl MetricsPlugin {
    /// Validates the options.
    pub fn new(options: &Value) -> Result<MetricsPlugin, PluginError> {
        let path = match field(options, "path")? {
            None => "/metrics".to_owned(),
            Some(Value::String(p))
                if p.starts_with('/')
                    && !p.bytes().any(|b| b <= b' ' || b == b'?' || b == b'#') =>
            {
                p.clone()
            }
            Some(_) => {
                return Err(r#"metrics option "path" must be a path starting with "/""#.into())
            }
        };
        let prefix =
            match field(options, "prefix")? {
                None => "nebula_".to_owned(),
                Some(Value::String(p)) if valid_prefix(p) => p.clone(),
                Some(_) => return Err(
                    r#"metrics option "prefix" must match [a-zA-Z_:][a-zA-Z0-9_:]* (or be empty)"#
                        .into(),
                ),
            };
        let buckets = match field(options, "buckets")? {
            None => DEFAULT_BUCKETS.to_vec(),
            Some(v) => buckets(v)?,
        };
        Ok(MetricsPlugin {
            path,
            prefix,
            registry: Arc::new(Registry::new(buckets)),
        })
    }

    /// The exposition text for `stats`.
    pub fn render(&self, stats: &crate::kernel::stats::StatsSnapshot) -> String {
        render(&self.prefix, &self.registry, stats)
    }
}

fn render(
    prefix: &str,
    registry: &Registry,
    stats: &crate::kernel::stats::StatsSnapshot,
) -> String {
    exposition::render(
        prefix,
        &registry.bounds,
        &registry.snapshot(),
        stats,
        registry.overflow(),
    )
}

fn valid_prefix(p: &str) -> bool {
    p.bytes().enumerate().all(|(i, b)| {
        b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
    })
}

/// 1 to 64 finite numbers, strictly increasing.
fn buckets(v: &Value) -> Result<Vec<f64>, String> {
    const MSG: &str =
        r#"metrics option "buckets" must be 1 to 64 finite numbers (seconds), strictly increasing"#;
    let list = v.as_array().ok_or(MSG)?;
    if list.is_empty() || list.len() > MAX_BUCKETS {
        return Err(MSG.into());
    }
    let bounds: Vec<f64> = list
        .iter()
        .map(|b| b.as_f64().filter(|f| f.is_finite()))
        .collect::<Option<_>>()
        .ok_or(MSG)?;
    if bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Err(MSG.into());
    }
    Ok(bounds)
}

impl NativePlugin for MetricsPlugin {
    /// `metrics: false` (module or route option): this handler is not measured.
    fn layer(&self, options: &Value) -> Result<Option<Arc<dyn NativeLayer>>, LayerError> {
        match field(options, "metrics")? {
            None | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Ok(None),
            Some(_) => return Err(r#"metrics option "metrics" must be a boolean"#.into()),
        }
        Ok(Some(Arc::new(MetricsLayer {
            registry: self.registry.clone(),
            first: OnceLock::new(),
            more: RwLock::new(Vec::new()),
        })))
    }

    fn endpoints(&self) -> Vec<Endpoint> {
        let registry = self.registry.clone();
        let prefix = self.prefix.clone();
        vec![Endpoint {
            method: Method::GET,
            path: self.path.clone(),
            handler: Arc::new(move |ctx| {
                let mut reply = Reply::empty(StatusCode::OK);
                reply.headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(exposition::CONTENT_TYPE),
                );
                let mut text = render(&prefix, &registry, &ctx.stats);
                (ctx.extra_metrics)(&mut text);
                reply.body = text.into();
                reply
            }),
        }]
    }
}

/// One handler's layer: records each answer in its (method, route) series.
struct MetricsLayer {
    registry: Arc<Registry>,
    /// The series of the handler's first request (usually its only one).
    first: OnceLock<Arc<RouteSeries>>,
    /// Other (method, route) pairs this handler answered.
    more: RwLock<Vec<Arc<RouteSeries>>>,
}

impl MetricsLayer {
    fn observe(&self, method: &Method, route: &str, status: u16, took: std::time::Duration) {
        let bounds = &self.registry.bounds;
        let first = match self.first.get() {
            Some(s) => s,
            None => {
                let Some(s) = self.registry.series(method, route) else {
                    return;
                };
                self.first.get_or_init(|| s)
            }
        };
        if first.is(method, route) {
            return first.observe(bounds, status, took);
        }
        if let Some(s) = self.more.read().iter().find(|s| s.is(method, route)) {
            return s.observe(bounds, status, took);
        }
        let Some(s) = self.registry.series(method, route) else {
            return;
        };
        s.observe(bounds, status, took);
        let mut more = self.more.write();
        if more.len() < LAYER_SERIES && !more.iter().any(|m| Arc::ptr_eq(m, &s)) {
            more.push(s);
        }
    }
}

impl NativeLayer for MetricsLayer {
    fn name(&self) -> &'static str {
        "metrics"
    }

    fn after(&self, ctx: &LayerCtx<'_>, reply: &mut Reply) {
        self.observe(
            ctx.method,
            ctx.route,
            reply.status.as_u16(),
            ctx.started.elapsed(),
        );
    }
}

#[cfg(test)]
mod tests;
