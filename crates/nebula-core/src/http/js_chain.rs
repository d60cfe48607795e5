//! A native layer that the JS chain runs itself: a TypeScript layer sits
//! outside it, so the request is in JavaScript already and the chain calls
//! the layer's `before` and `after` one at a time (the binding's
//! `layerBefore` / `layerAfter`), instead of `run_layers` in Rust.
//!
//! A `before` that must wait (`Flow::Pending`: the cache's Redis lookup, an
//! async auth check) is awaited here as in `run_layers` ([`Before::Later`]:
//! the binding hands JavaScript a promise), never skipped: a request must
//! not pass a layer that has not decided. A layer that breaks the contract
//! (its pending decision comes back pending) fails closed: 500 and an error
//! log line naming it ([`Flow::answer`]).
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::http::Extensions;
use hyper::{HeaderMap, Method};

use crate::kernel::{BoxFuture, Flow, LayerCtx, NativeLayer, Reply};

/// The request as a layer run from the JS chain sees it (owned: it crossed
/// from JavaScript, and a pending decision outlives the call).
pub struct ChainRequest {
    pub method: Method,
    /// Path and query, as received.
    pub target: String,
    /// The matched route's pattern.
    pub route: String,
    pub headers: HeaderMap,
    /// The client's address (None for in-process requests).
    pub peer: Option<IpAddr>,
    /// Values outer native layers handed over.
    pub locals: Vec<(String, serde_json::Value)>,
}

impl ChainRequest {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }

    fn ctx<'a>(
        &'a self,
        started: Instant,
        locals: &'a mut Vec<(String, serde_json::Value)>,
        scratch: &'a mut Extensions,
    ) -> LayerCtx<'a> {
        LayerCtx {
            method: &self.method,
            path: self.path(),
            target: &self.target,
            route: &self.route,
            params: &[],
            headers: &self.headers,
            peer: self.peer,
            started,
            locals,
            scratch,
        }
    }
}

/// What `after` needs of a request that went on past the layer: the scratch
/// its `before` filled, and when that ran.
pub struct Held {
    pub scratch: Extensions,
    pub started: Instant,
}

/// What the layer's `before` decided.
pub struct Decided {
    /// The layer's answer (its `after` already ran on it): the inner layers
    /// and the handler must not run.
    pub respond: Option<Reply>,
    /// The values it handed over (`ctx.set(key, value)`), in order.
    pub added: Vec<(String, serde_json::Value)>,
    /// For `after`, when the request goes on (None when the layer answered).
    pub held: Option<Held>,
}

/// A `before` run from the JS chain: decided at once, or a decision to wait for.
pub enum Before {
    Now(Decided),
    /// The layer must wait (I/O): the decision once it is made. The future
    /// owns the request; await it on the tokio runtime, not on Node's thread.
    Later(BoxFuture<Decided>),
}

impl std::fmt::Debug for Before {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Before::Now(_) => "Now",
            Before::Later(_) => "Later",
        })
    }
}

/// Runs `layer`'s `before` for a request the JS chain holds.
pub fn before(layer: Arc<dyn NativeLayer>, mut req: ChainRequest) -> Before {
    let mut locals = std::mem::take(&mut req.locals);
    let known = locals.len();
    let mut scratch = Extensions::new();
    let started = Instant::now();
    let flow = layer.before(&mut req.ctx(started, &mut locals, &mut scratch));
    let state = State {
        req,
        locals,
        known,
        scratch,
        started,
    };
    match flow {
        Flow::Pending(later) => Before::Later(Box::pin(async move {
            let flow = later.await;
            state.decide(&*layer, flow)
        })),
        flow => Before::Now(state.decide(&*layer, flow)),
    }
}

/// Runs `layer`'s `after` on the answer the inner layers gave; `held` is
/// what [`before`] kept (a fresh scratch when it is gone).
pub fn after(
    layer: &dyn NativeLayer,
    mut req: ChainRequest,
    held: Option<Held>,
    reply: &mut Reply,
) {
    let Held {
        mut scratch,
        started,
    } = held.unwrap_or_else(|| Held {
        scratch: Extensions::new(),
        started: Instant::now(),
    });
    let mut locals = std::mem::take(&mut req.locals);
    layer.after(&req.ctx(started, &mut locals, &mut scratch), reply);
}

/// A request between the layer's `before` and its decision.
struct State {
    req: ChainRequest,
    locals: Vec<(String, serde_json::Value)>,
    /// How many locals came from outer layers.
    known: usize,
    scratch: Extensions,
    started: Instant,
}

impl State {
    /// Applies the decision: an answer goes through the layer's `after` at
    /// once, as in `run_layers`; a flow still pending fails closed.
    fn decide(mut self, layer: &dyn NativeLayer, flow: Flow) -> Decided {
        let respond = flow.answer(layer.name()).map(|mut reply| {
            let ctx = self
                .req
                .ctx(self.started, &mut self.locals, &mut self.scratch);
            layer.after(&ctx, &mut reply);
            reply
        });
        let added = self.locals.split_off(self.known.min(self.locals.len()));
        let held = respond.is_none().then_some(Held {
            scratch: self.scratch,
            started: self.started,
        });
        Decided {
            respond,
            added,
            held,
        }
    }
}
