//! Dynamic routes: routes that change while the service runs (the script
//! VM's hook routes, replaced on every reload), asked after the service's
//! own routes and built-ins and before static files. They run inside the
//! same native layers as a route (rate limit, auth, CORS, …), and are
//! answered in Rust: Node is never called for them.
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use hyper::{HeaderMap, Method};

use crate::kernel::{BoxFuture, Reply};

/// A request for a dynamic route, its body already read (within the limits).
pub struct DynRequest {
    pub method: Method,
    /// Path and query, as received.
    pub target: String,
    pub params: Vec<(Arc<str>, String)>,
    pub headers: Arc<HeaderMap>,
    /// The body, read whole (empty when `stream` is set).
    pub body: Bytes,
    /// The body as it arrives, for a call that [streams](DynCall::streams_body)
    /// it: at most the body limit (an error past it).
    pub stream: Option<RequestStream>,
    /// What the native layers handed over (e.g. JWT claims as "user").
    pub locals: Vec<(String, serde_json::Value)>,
    pub peer: Option<IpAddr>,
}

/// A request body as it arrives.
pub type RequestStream = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Answers one matched dynamic route.
pub trait DynCall: Send + 'static {
    fn call(self: Box<Self>, req: DynRequest) -> BoxFuture<Reply>;

    /// True when the call takes the body as a stream (a proxy) rather than read whole.
    fn streams_body(&self) -> bool {
        false
    }
}

/// A dynamic route that matched: its pattern (a metrics label) and params.
pub struct DynMatch {
    pub pattern: Arc<str>,
    pub params: Vec<(Arc<str>, String)>,
    pub call: Box<dyn DynCall>,
}

/// The methods a route may be declared for (every one but CONNECT and TRACE):
/// what a catch-all route allows, and what `check_mounts` tries.
pub const ROUTE_METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// The current set of dynamic routes.
pub trait DynamicRoutes: Send + Sync + 'static {
    fn lookup(&self, method: &Method, path: &str) -> Option<DynMatch>;
    /// The methods of the dynamic routes matching `path` (for a 405's `Allow`).
    fn allowed(&self, _path: &str) -> Vec<Method> {
        Vec::new()
    }
}
