//! shutdown: counts the requests in flight through its layers and, once told
//! the service is shutting down, answers new ones with 503 in Rust.
//!
//! No plugin or layer options. Every layer of one plugin shares its state.
//! `before` answers `503 {"error": "Service Unavailable", "message":
//! "shutting down"}` with `Connection: close` (so a keep-alive client goes
//! elsewhere) while shutting down; otherwise it counts the request and puts a
//! guard in the request's scratch space. The guard uncounts the request when
//! the scratch space is dropped: after the answer went back through the
//! layers, or when the client went away before (an `after` that never runs
//! cannot leak a count, and a 503 made by `before` is never uncounted).
//!
//! Operations for the JS face ([`NativeLayer::call`]): `shutdown` (sets the
//! flag, before it returns; resolves to the count), `drain {timeoutMs}`
//! (resolves to `{drained, inFlight}` once nothing is in flight, or at the
//! timeout), `count`.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderValue, CONNECTION};
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::PluginError;
use crate::kernel::{BoxFuture, Flow, LayerCtx, LayerError, NativeLayer, NativePlugin, Reply};

/// `drain` waits at most this long whatever it is asked.
const MAX_DRAIN_MS: u64 = 24 * 60 * 60 * 1000;

/// Creates the plugin (it takes no options).
pub fn create(options: &Value) -> Result<Arc<dyn NativePlugin>, PluginError> {
    if !(options.is_object() || options.is_null()) {
        return Err("shutdown options must be an object".into());
    }
    Ok(Arc::new(ShutdownPlugin::default()))
}

/// State shared by the plugin's layers.
#[derive(Default)]
pub struct Shared {
    in_flight: AtomicU64,
    shutting_down: AtomicBool,
    idle: Notify,
}

impl Shared {
    /// Requests in flight through the layers.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// From now on, new requests get 503.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Waits until nothing is in flight (true) or `timeout` passes (false).
    pub async fn drain(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            // Registered before the count is read: a decrement in between still wakes us.
            idle.as_mut().enable();
            if self.in_flight() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.in_flight() == 0;
            }
        }
    }
}

/// Uncounts its request when dropped (with the request's scratch space).
struct InFlightGuard(Arc<Shared>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// The plugin: one state for all its layers.
#[derive(Default)]
pub struct ShutdownPlugin {
    shared: Arc<Shared>,
}

impl ShutdownPlugin {
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl NativePlugin for ShutdownPlugin {
    fn layer(&self, _options: &Value) -> Result<Option<Arc<dyn NativeLayer>>, LayerError> {
        Ok(Some(Arc::new(ShutdownLayer {
            shared: self.shared.clone(),
        })))
    }
}

/// One handler's layer.
pub struct ShutdownLayer {
    shared: Arc<Shared>,
}

/// The answer to a request that arrives while shutting down.
pub fn unavailable() -> Reply {
    let mut reply = Reply::error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    reply
        .headers
        .insert(CONNECTION, HeaderValue::from_static("close"));
    reply
}

impl NativeLayer for ShutdownLayer {
    fn name(&self) -> &'static str {
        "shutdown"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        if self.shared.is_shutting_down() {
            return Flow::Respond(unavailable());
        }
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        // In the scratch space as an Arc (which is Clone): still one guard.
        ctx.scratch
            .insert(Arc::new(InFlightGuard(self.shared.clone())));
        // A shutdown that began between the check and the count: refuse too
        // (the guard uncounts it with the scratch space).
        if self.shared.is_shutting_down() {
            return Flow::Respond(unavailable());
        }
        Flow::Continue
    }

    fn call(&self, op: &str, arg: Value) -> BoxFuture<Result<Value, LayerError>> {
        let shared = self.shared.clone();
        match op {
            "shutdown" => {
                // Set now, not when the future is polled: requests after this call get 503.
                shared.begin_shutdown();
                let n = shared.in_flight();
                Box::pin(async move { Ok(Value::from(n)) })
            }
            "count" => {
                let n = shared.in_flight();
                Box::pin(async move { Ok(Value::from(n)) })
            }
            "drain" => {
                let ms = arg
                    .get("timeoutMs")
                    .and_then(Value::as_f64)
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map_or(0, |f| (f as u64).min(MAX_DRAIN_MS));
                Box::pin(async move {
                    let drained = shared.drain(Duration::from_millis(ms)).await;
                    Ok(json!({ "drained": drained, "inFlight": shared.in_flight() }))
                })
            }
            other => {
                let err = LayerError::UnknownOp {
                    layer: "shutdown".into(),
                    op: other.to_owned(),
                };
                Box::pin(async move { Err(err) })
            }
        }
    }
}

#[cfg(test)]
mod tests;
