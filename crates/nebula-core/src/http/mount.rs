//! A mount: a component that answers a few fixed paths itself, in Rust, with
//! the whole request at hand (e.g. the WebSocket hub's upgrade path and its
//! admin API). Mounts are asked before routes; a route on a mounted path is
//! refused when the service is built.
use std::net::IpAddr;

use bytes::Bytes;
use hyper::http::request::Parts;

use crate::kernel::Reply;

/// What a mount receives. `parts.extensions` holds hyper's `OnUpgrade` for
/// requests from a socket; the body has been read (within the body limit)
/// for methods that carry one.
pub struct MountRequest {
    pub parts: Parts,
    pub body: Bytes,
    pub peer: Option<IpAddr>,
}

pub trait Mount: Send + Sync + 'static {
    /// Whether this mount answers requests for `path` (any method).
    fn claims(&self, path: &str) -> bool;

    /// The paths it answers, for the build-time conflict check with routes
    /// (`:name` segments stand for any value).
    fn paths(&self) -> Vec<String>;

    fn handle(&self, req: MountRequest) -> Reply;

    /// Prometheus exposition text this mount adds to `/metrics`.
    fn metrics(&self, _out: &mut String) {}
}
