//! How requests reach the JS thread: queued here, taken in batches by
//! `NativeEngine::take_batch` after one wake-up.
use std::sync::{Arc, OnceLock};

use napi::bindgen_prelude::*;
use parking_lot::Mutex;

use super::wake::Wake;

use crate::http::{DispatchError, Dispatcher, JsRequest};

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
}

pub(super) struct BatchDispatcher {
    pub(super) batch: Arc<Batch>,
}

impl Dispatcher for BatchDispatcher {
    fn dispatch(&self, req: JsRequest) -> std::result::Result<(), DispatchError> {
        self.batch.queue.lock().push(req);
        let wake = self
            .batch
            .wake
            .get()
            .ok_or_else(|| DispatchError("the engine is not built yet".into()))?;
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
