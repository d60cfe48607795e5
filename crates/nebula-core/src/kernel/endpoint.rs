//! A route a plugin answers itself (e.g. `GET /metrics`), in Rust, without
//! JavaScript and without layers.
use std::sync::Arc;

use hyper::Method;

use super::reply::Reply;
use super::stats::StatsSnapshot;

/// What an endpoint sees: the engine's counters, and the exposition text of
/// the components that add to `/metrics` (e.g. the hub).
pub struct EndpointCtx<'a> {
    pub stats: StatsSnapshot,
    pub extra_metrics: &'a dyn Fn(&mut String),
}

/// Answers a request to a plugin's own endpoint (e.g. `GET /metrics`) in Rust.
pub type EndpointFn = Arc<dyn Fn(&EndpointCtx<'_>) -> Reply + Send + Sync>;

/// A route a plugin answers itself, without JavaScript and without layers.
pub struct Endpoint {
    pub method: Method,
    pub path: String,
    pub handler: EndpointFn,
}
