//! A layer whose plugin options can change while the engine serves: it
//! delegates to the current layer, and `swap` puts a new one (from the new
//! options) in its place for every request that starts after.
//!
//! A request in flight during a swap may run `before` on the old layer and
//! `after` on the new one (the same plugin kind, so the same scratch types).
use std::sync::Arc;

use parking_lot::RwLock;

use crate::kernel::{BoxFuture, Flow, LayerCtx, LayerError, NativeLayer, Reply};

/// A layer that does nothing (a handler that needs no layer under new options).
pub struct PassThrough;

impl NativeLayer for PassThrough {
    fn name(&self) -> &'static str {
        "pass-through"
    }
}

pub struct SwapLayer {
    current: RwLock<Arc<dyn NativeLayer>>,
}

impl SwapLayer {
    pub fn new(layer: Arc<dyn NativeLayer>) -> SwapLayer {
        SwapLayer {
            current: RwLock::new(layer),
        }
    }

    /// From now on, requests go through `layer` (None: through nothing).
    pub fn swap(&self, layer: Option<Arc<dyn NativeLayer>>) {
        *self.current.write() = layer.unwrap_or_else(|| Arc::new(PassThrough));
    }

    fn current(&self) -> Arc<dyn NativeLayer> {
        self.current.read().clone()
    }
}

impl NativeLayer for SwapLayer {
    fn name(&self) -> &'static str {
        self.current.read().name()
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        self.current().before(ctx)
    }

    fn after(&self, ctx: &LayerCtx<'_>, reply: &mut Reply) {
        self.current().after(ctx, reply)
    }

    fn call(
        &self,
        op: &str,
        arg: serde_json::Value,
    ) -> BoxFuture<Result<serde_json::Value, LayerError>> {
        self.current().call(op, arg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;

    struct Refuse(StatusCode);

    impl NativeLayer for Refuse {
        fn name(&self) -> &'static str {
            "refuse"
        }
        fn before(&self, _ctx: &mut LayerCtx<'_>) -> Flow {
            Flow::Respond(Reply::empty(self.0))
        }
    }

    fn status(layer: &SwapLayer) -> Option<StatusCode> {
        let mut locals = Vec::new();
        let mut scratch = hyper::http::Extensions::new();
        let headers = hyper::HeaderMap::new();
        let mut ctx = LayerCtx {
            method: &hyper::Method::GET,
            path: "/",
            target: "/",
            route: "/",
            params: &[],
            headers: &headers,
            peer: None,
            started: std::time::Instant::now(),
            locals: &mut locals,
            scratch: &mut scratch,
        };
        match layer.before(&mut ctx) {
            Flow::Respond(r) => Some(r.status),
            _ => None,
        }
    }

    #[test]
    fn requests_after_a_swap_meet_the_new_layer() {
        let layer = SwapLayer::new(Arc::new(Refuse(StatusCode::UNAUTHORIZED)));
        assert_eq!(status(&layer), Some(StatusCode::UNAUTHORIZED));
        layer.swap(Some(Arc::new(Refuse(StatusCode::TOO_MANY_REQUESTS))));
        assert_eq!(status(&layer), Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(layer.name(), "refuse");
        layer.swap(None);
        assert_eq!(status(&layer), None);
        assert_eq!(layer.name(), "pass-through");
    }
}
