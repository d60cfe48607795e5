//! The native layer: a plugin's part of a handler's onion, written in Rust.
//!
//! While every layer outside it is native too, a layer runs in Rust before
//! anything is sent to JavaScript: `before` may answer the request itself
//! (rate limited, unauthorized, preflight, cache hit), and `after` sees every
//! answer on its way out, innermost layer first.
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::{HeaderMap, Method};

use super::endpoint::Endpoint;
use super::error::LayerError;
use super::reply::Reply;

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

impl Flow {
    /// The answer a decided flow carries: `Some` when the layer answered,
    /// None to go on. A flow still `Pending` here (a pending decision that
    /// came back pending: a layer waits once) breaks the contract; the
    /// request must not go on past a layer that has not decided (an auth
    /// check would fail open), so it is refused with 500 and an error log
    /// line naming `layer`.
    pub fn answer(self, layer: &str) -> Option<Reply> {
        match self {
            Flow::Continue => None,
            Flow::Respond(reply) => Some(reply),
            Flow::Pending(_) => {
                tracing::error!(
                    layer,
                    "a native layer did not decide (it asked to wait again); the request was refused with 500"
                );
                Some(Reply::error(
                    hyper::StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("native layer {layer} did not decide on this request"),
                ))
            }
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
    ) -> BoxFuture<Result<serde_json::Value, LayerError>> {
        let err = LayerError::UnknownOp {
            layer: self.name().to_owned(),
            op: op.to_owned(),
        };
        Box::pin(async move { Err(err) })
    }
}

/// A native plugin: shared state (buckets, keys, cache) and a factory of
/// per-handler layers.
pub trait NativePlugin: Send + Sync + 'static {
    /// The layer for one handler, from its merged options (plugin defaults,
    /// module options, route options: the plugin's JS face merges them).
    /// `Ok(None)`: this handler needs no layer.
    fn layer(
        &self,
        options: &serde_json::Value,
    ) -> Result<Option<Arc<dyn NativeLayer>>, LayerError>;

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
        if let Some(r) = flow.answer(layer.name()) {
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
