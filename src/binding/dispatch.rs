//! How requests reach the JS thread: queued here, taken in batches by
//! `NativeEngine::take_batch` after one wake-up.
//!
//! Inside the server's runtime the wake-up is deferred to the end of the
//! worker's tick (after the other ready connections have queued their
//! requests too): one wake-up then carries a whole round of requests instead
//! of the first one, which cut the hello route's cost by about a tenth.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use napi::bindgen_prelude::*;
use parking_lot::Mutex;

use super::wake::Wake;

use crate::http::{DispatchError, Dispatcher, JsRequest, JsResponse, Service};

/// The arguments the JS dispatcher receives:
/// (id, route, method, target, params [k, v, …], headers [k, v, …], body | null,
/// locals [k, json, …] | null, client address | null).
pub(super) type DispatchArgs = FnArgs<(
    u32,
    u32,
    String,
    String,
    Vec<String>,
    Vec<String>,
    Option<Buffer>,
    Option<Vec<String>>,
    Option<String>,
)>;
/// Requests waiting for the JS thread. Under load many arrive between two
/// wake-ups, and one call into JavaScript takes them all.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) queue: Mutex<Vec<JsRequest>>,
    /// Set when the engine is built.
    pub(super) wake: OnceLock<Wake>,
    /// Answers the queued requests when the JS thread refuses a deferred wake-up.
    pub(super) service: OnceLock<Weak<Service>>,
    /// A deferred wake-up is scheduled on the runtime.
    deferred: AtomicBool,
}

struct ResetDeferred<'a>(&'a Batch);

impl Drop for ResetDeferred<'_> {
    fn drop(&mut self) {
        self.0.deferred.store(false, Ordering::SeqCst);
    }
}

impl Batch {
    /// Wakes the JS thread; when it refuses (Node is exiting), the queued
    /// requests are answered 503 here since no dispatch call is left to fail.
    fn flush(&self) {
        self.deferred.store(false, Ordering::SeqCst);
        let Some(wake) = self.wake.get() else { return };
        let Err(status) = wake.wake() else { return };
        let refused = std::mem::take(&mut *self.queue.lock());
        let Some(service) = self.service.get().and_then(Weak::upgrade) else {
            return;
        };
        let answer = JsResponse::error(
            503,
            "Service Unavailable",
            &format!("handler unavailable: the JavaScript thread refused the call ({status})"),
        );
        for req in refused {
            service.complete(req.id, answer.clone());
        }
    }
}

pub(super) struct BatchDispatcher {
    pub(super) batch: Arc<Batch>,
}

impl Dispatcher for BatchDispatcher {
    fn dispatch(&self, req: JsRequest) -> std::result::Result<(), DispatchError> {
        let wake = self
            .batch
            .wake
            .get()
            .ok_or_else(|| DispatchError("the engine is not built yet".into()))?;
        self.batch.queue.lock().push(req);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            if !self.batch.deferred.swap(true, Ordering::SeqCst) {
                let batch = self.batch.clone();
                runtime.spawn(async move {
                    // Should the task be dropped unrun (the runtime shutting
                    // down), the flag must not stay set: no wake-up would follow.
                    let _reset = ResetDeferred(&batch);
                    // Runs again once the worker has polled its other ready tasks and the sockets.
                    tokio::task::yield_now().await;
                    batch.flush();
                });
            }
            return Ok(());
        }
        wake.wake().map_err(|status| {
            DispatchError(format!("the JavaScript thread refused the call ({status})"))
        })
    }
}

/// `[name, value, name, value, …]`, names lowercase as HTTP/1 delivers them.
pub(super) fn flat_headers(headers: &hyper::HeaderMap) -> Vec<String> {
    let mut flat = Vec::with_capacity(headers.len() * 2);
    for (k, v) in headers {
        flat.push(k.as_str().to_owned());
        flat.push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    flat
}

/// The inverse of [`flat_headers`]; a trailing name without a value is ignored.
pub(super) fn header_pairs(flat: Vec<String>) -> Vec<(String, String)> {
    let mut pairs = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, v));
    }
    pairs
}

/// `[key, json, key, json, …]`, or None when no layer handed anything over.
fn flat_locals(locals: Vec<(String, serde_json::Value)>) -> Option<Vec<String>> {
    if locals.is_empty() {
        return None;
    }
    let mut flat = Vec::with_capacity(locals.len() * 2);
    for (k, v) in locals {
        flat.push(k);
        flat.push(v.to_string());
    }
    Some(flat)
}

pub(super) fn to_args(req: JsRequest) -> DispatchArgs {
    let locals = flat_locals(req.locals);
    let mut params = Vec::with_capacity(req.params.len() * 2);
    for (k, v) in req.params {
        params.push(k.to_string());
        params.push(v);
    }
    let headers = flat_headers(&req.headers);
    let body = if req.body.is_empty() {
        None
    } else {
        Some(Buffer::from(req.body.to_vec()))
    };
    FnArgs::from((
        req.id,
        req.route as u32,
        req.method.as_str().to_owned(),
        req.target,
        params,
        headers,
        body,
        locals,
        req.peer.map(|ip| ip.to_string()),
    ))
}
