//! The native layer: a plugin's part of a handler's onion, written in Rust.
//!
//! While every layer outside it is native too, a layer runs in Rust before
//! anything is sent to JavaScript: `before` may answer the request itself
//! (rate limited, unauthorized, preflight, cache hit), and `after` sees every
//! answer on its way out, innermost layer first.
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Method, StatusCode};

use crate::http::stats::StatsSnapshot;
use crate::http::JSON_TYPE;

/// An answer while it travels back through the layers: all in memory, or
/// (a proxied answer) headers in memory and the body still streaming.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body, when it is in memory (empty when `stream` is set).
    pub body: Bytes,
    /// A body still arriving: layers that need the bytes (cache, compression)
    /// leave such a reply alone.
    pub stream: Option<Streamed>,
}

/// A response body that streams; taken once, when the response is sent.
#[derive(Clone)]
pub struct Streamed(Arc<parking_lot::Mutex<Option<StreamBody>>>);

/// The boxed body of a streamed reply.
pub type StreamBody = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

impl Streamed {
    pub fn new(body: StreamBody) -> Streamed {
        Streamed(Arc::new(parking_lot::Mutex::new(Some(body))))
    }

    /// The body; None if it was taken already.
    pub fn take(&self) -> Option<StreamBody> {
        self.0.lock().take()
    }
}

impl PartialEq for Streamed {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streamed")
    }
}

impl Reply {
    /// `{"error": <reason phrase>, "message": <detail>}`.
    pub fn error(status: StatusCode, message: &str) -> Reply {
        let error = status.canonical_reason().unwrap_or("Error");
        let body = serde_json::json!({ "error": error, "message": message }).to_string();
        Reply::json(status, body)
    }

    /// A JSON body (already serialized).
    pub fn json(status: StatusCode, body: String) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
        Reply {
            status,
            headers,
            body: Bytes::from(body),
            stream: None,
        }
    }

    /// No body.
    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            stream: None,
        }
    }
}

/// What a layer sees of the request.
pub struct LayerCtx<'a> {
    pub method: &'a Method,
    /// Raw path, without the query.
    pub path: &'a str,
    /// Path and query, as received.
    pub target: &'a str,
    /// The matched route's pattern (e.g. `/api/users/:id`): a label with bounded cardinality.
    pub route: &'a str,
    pub params: &'a [(Arc<str>, String)],
    pub headers: &'a HeaderMap,
    /// The client's address (None for in-process requests).
    pub peer: Option<IpAddr>,
    /// When the request arrived.
    pub started: Instant,
    /// Values handed to JavaScript as `ctx.set(key, value)` (e.g. JWT claims as "user").
    pub locals: &'a mut Vec<(String, serde_json::Value)>,
    /// Per-request scratch space for layers (typed: one value per type), e.g.
    /// what `before` computed that `after` needs.
    pub scratch: &'a mut hyper::http::Extensions,
}

/// A boxed future, for layers that must wait (e.g. a cache lookup in Redis).
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// What `before` decided.
pub enum Flow {
    /// Go on to the inner layers.
    Continue,
    /// Answer now; the inner layers and the handler do not run.
    Respond(Reply),
    /// Decide later: the future yields `Continue` or `Respond` (never `Pending` again).
    Pending(BoxFuture<Flow>),
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flow::Continue => f.write_str("Continue"),
            Flow::Respond(r) => f.debug_tuple("Respond").field(r).finish(),
            Flow::Pending(_) => f.write_str("Pending"),
        }
    }
}

/// One plugin's layer for one handler (its options for that handler baked in).
pub trait NativeLayer: Send + Sync + 'static {
    /// A short name for logs and errors.
    fn name(&self) -> &'static str;

    /// Runs before the inner layers.
    fn before(&self, _ctx: &mut LayerCtx<'_>) -> Flow {
        Flow::Continue
    }

    /// Runs on every answer that comes back through this layer, including
    /// answers made by inner layers and error replies.
    fn after(&self, _ctx: &LayerCtx<'_>, _reply: &mut Reply) {}

    /// A plugin-specific operation the JS face calls directly (e.g. the cache's
    /// `get`/`set` of method results for `engine.handler()` calls).
    fn call(
        &self,
        op: &str,
        _arg: serde_json::Value,
    ) -> BoxFuture<Result<serde_json::Value, String>> {
        let message = format!("{} has no operation {op:?}", self.name());
        Box::pin(async move { Err(message) })
    }
}

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

/// A native plugin: shared state (buckets, keys, cache) and a factory of
/// per-handler layers.
pub trait NativePlugin: Send + Sync + 'static {
    /// The layer for one handler, from its merged options (plugin defaults,
    /// module options, route options: the plugin's JS face merges them).
    /// `Ok(None)`: this handler needs no layer.
    fn layer(&self, options: &serde_json::Value) -> Result<Option<Arc<dyn NativeLayer>>, String>;

    /// Routes this plugin answers itself.
    fn endpoints(&self) -> Vec<Endpoint> {
        Vec::new()
    }

    /// Finishes buffered work (e.g. log lines still queued), waiting up to
    /// `timeout`; called when the engine stops. May block: never called on
    /// the request path.
    fn flush(&self, _timeout: std::time::Duration) {}
}

/// Runs `layers` around `inner` as an onion: `before` outermost first, `after`
/// innermost first, only for the layers whose `before` ran.
pub async fn run_layers<F, Fut>(
    layers: &[Arc<dyn NativeLayer>],
    ctx: &mut LayerCtx<'_>,
    inner: F,
) -> Reply
where
    F: FnOnce(Vec<(String, serde_json::Value)>) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let mut entered = 0;
    let mut reply = None;
    for layer in layers {
        entered += 1;
        let mut flow = layer.before(ctx);
        if let Flow::Pending(later) = flow {
            flow = later.await;
        }
        if let Flow::Respond(r) = flow {
            reply = Some(r);
            break;
        }
    }
    let mut reply = match reply {
        Some(r) => r,
        None => inner(std::mem::take(ctx.locals)).await,
    };
    for layer in layers[..entered].iter().rev() {
        layer.after(ctx, &mut reply);
    }
    reply
}

/// A request to run layers against in tests.
#[cfg(test)]
pub(crate) struct TestRequest {
    pub method: Method,
    pub path: String,
    /// Path and query (defaults to `path`).
    pub target: String,
    /// The route pattern (defaults to `path`).
    pub route: String,
    pub headers: HeaderMap,
    pub peer: Option<IpAddr>,
    pub locals: Vec<(String, serde_json::Value)>,
    pub scratch: hyper::http::Extensions,
    pub started: Instant,
}

#[cfg(test)]
impl TestRequest {
    pub fn new(method: Method, path: &str) -> Self {
        TestRequest {
            method,
            path: path.to_owned(),
            target: path.to_owned(),
            route: path.to_owned(),
            headers: HeaderMap::new(),
            peer: None,
            locals: Vec::new(),
            scratch: hyper::http::Extensions::new(),
            started: Instant::now(),
        }
    }

    /// The context layers see.
    pub fn ctx(&mut self) -> LayerCtx<'_> {
        LayerCtx {
            method: &self.method,
            path: &self.path,
            target: &self.target,
            route: &self.route,
            params: &[],
            headers: &self.headers,
            peer: self.peer,
            started: self.started,
            locals: &mut self.locals,
            scratch: &mut self.scratch,
        }
    }
}
