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

use nebula_core::http::{AnswerHeader, DispatchError, Dispatcher, JsRequest, JsResponse, Service};

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

/// The most text (bytes of method, target, headers and address, an upper
/// bound of its UTF-16 length) one batch carries: far below V8's string
/// limit (~2^29 units) however large the queued heads are.
const TEXT_BUDGET: usize = 64 * 1024 * 1024;

/// An upper bound of the text [`PackedBatch::push`] writes for `req`.
fn text_size(req: &JsRequest) -> usize {
    let headers: usize = req
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 2)
        .sum();
    req.method.as_str().len() + req.target.len() + headers + 48
}

impl Batch {
    /// For the JS side: the queued requests, as many as fit [`TEXT_BUDGET`]
    /// (at least one); those left get a wake-up of their own.
    pub(super) fn take(&self) -> Vec<JsRequest> {
        // Reset first: a request queued after this line schedules a new wake-up.
        if let Some(wake) = self.wake.get() {
            wake.taking();
        }
        let mut queue = self.queue.lock();
        let mut size = 0;
        let fit = queue
            .iter()
            .position(|req| {
                size += text_size(req);
                size > TEXT_BUDGET
            })
            .map_or(queue.len(), |n| n.max(1));
        if fit == queue.len() {
            return std::mem::take(&mut *queue);
        }
        let taken = queue.drain(..fit).collect();
        drop(queue);
        if let Some(wake) = self.wake.get() {
            let _ = wake.wake();
        }
        taken
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
pub(super) fn header_pairs(flat: Vec<String>) -> Vec<AnswerHeader> {
    let mut pairs = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k.into(), v.into()));
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

/// Values per request in [`PackedBatch::meta`].
const META: usize = 8;

/// Queued requests packed for one crossing: numbers in a typed array, every
/// string in one JS string (cut with `slice`), the rest apart. Per request,
/// `meta` holds id, route, flags (1 body, 2 locals, 4 params, 8 client
/// address as text, 16 client IPv4 address as a number), the end offsets
/// (UTF-16 units) in `text` of the method, the target, the headers (names
/// and values joined by NUL, which neither can hold) and the address text,
/// then the IPv4 address (0 unless flag 16). `extras` holds, in request
/// order, the body (Buffer) of each request with flag 1, its locals (flag
/// 2), its params `[name, value, …]` (flag 4; they may hold any character).
#[derive(Default)]
pub(super) struct PackedBatch {
    pub meta: Vec<u32>,
    pub text: String,
    /// UTF-16 length of `text` so far.
    len16: u32,
    pub extras: Vec<Either<Buffer, Vec<String>>>,
}

impl PackedBatch {
    pub(super) fn new(requests: Vec<JsRequest>) -> PackedBatch {
        let mut packed = PackedBatch::default();
        packed.meta.reserve(requests.len() * META);
        for req in requests {
            packed.push(req);
        }
        packed
    }

    fn push_str(&mut self, s: &str) -> u32 {
        self.text.push_str(s);
        let n = if s.is_ascii() {
            s.len()
        } else {
            s.encode_utf16().count()
        };
        self.len16 += n as u32;
        self.len16
    }

    /// Bytes known to be ASCII (one UTF-16 unit each).
    fn push_ascii(&mut self, s: &str) {
        self.text.push_str(s);
        self.len16 += s.len() as u32;
    }

    fn push_headers(&mut self, headers: &hyper::HeaderMap) -> u32 {
        for (i, (k, v)) in headers.iter().enumerate() {
            if i > 0 {
                self.push_ascii("\0");
            }
            // Names are lowercase ASCII as hyper parsed them.
            self.push_ascii(k.as_str());
            self.push_ascii("\0");
            match v.to_str() {
                // Visible ASCII (and tab): the usual case, no validation left to do.
                Ok(ascii) => self.push_ascii(ascii),
                Err(_) => {
                    self.push_str(&String::from_utf8_lossy(v.as_bytes()));
                }
            }
        }
        self.len16
    }

    fn push(&mut self, req: JsRequest) {
        let ipv4 = match req.peer {
            Some(std::net::IpAddr::V4(ip)) => Some(u32::from(ip)),
            _ => None,
        };
        let flags = u32::from(!req.body.is_empty())
            | u32::from(!req.locals.is_empty()) << 1
            | u32::from(!req.params.is_empty()) << 2
            | u32::from(req.peer.is_some() && ipv4.is_none()) << 3
            | u32::from(ipv4.is_some()) << 4;
        self.meta.extend([req.id, req.route as u32, flags]);
        let m = self.push_str(req.method.as_str());
        let t = self.push_str(&req.target);
        let h = self.push_headers(&req.headers);
        let a = match (req.peer, ipv4) {
            (Some(ip), None) => self.push_str(&ip.to_string()),
            _ => self.len16,
        };
        self.meta.extend([m, t, h, a, ipv4.unwrap_or(0)]);
        if flags & 1 != 0 {
            self.extras.push(Either::A(Buffer::from(req.body.to_vec())));
        }
        if let Some(locals) = flat_locals(req.locals) {
            self.extras.push(Either::B(locals));
        }
        if flags & 4 != 0 {
            let mut params = Vec::with_capacity(req.params.len() * 2);
            for (k, v) in req.params {
                params.push(k.to_string());
                params.push(v);
            }
            self.extras.push(Either::B(params));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: u32, header_bytes: usize) -> JsRequest {
        let mut headers = hyper::HeaderMap::new();
        let value = hyper::header::HeaderValue::from_bytes(&vec![b'x'; header_bytes]);
        headers.insert("x-big", value.expect("a valid header value"));
        JsRequest {
            id,
            route: 0,
            method: hyper::Method::GET,
            target: "/".into(),
            params: Vec::new(),
            headers: std::sync::Arc::new(headers),
            body: bytes::Bytes::new(),
            locals: Vec::new(),
            peer: None,
        }
    }

    fn ids(requests: &[JsRequest]) -> Vec<u32> {
        requests.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_batch_takes_what_fits_its_text_budget_and_leaves_the_rest_queued() {
        let batch = Batch::default();
        let third = TEXT_BUDGET / 3;
        batch.queue.lock().extend([
            request(1, third),
            request(2, third),
            request(3, third),
            request(4, 10),
        ]);
        assert_eq!(ids(&batch.take()), [1, 2]);
        assert_eq!(
            ids(&batch.queue.lock()),
            [3, 4],
            "left for the next wake-up"
        );
        assert_eq!(ids(&batch.take()), [3, 4]);
        assert!(batch.queue.lock().is_empty());
    }

    #[test]
    fn a_request_larger_than_the_budget_still_goes_alone() {
        let batch = Batch::default();
        batch
            .queue
            .lock()
            .extend([request(1, TEXT_BUDGET + 1), request(2, 10)]);
        assert_eq!(ids(&batch.take()), [1]);
        assert_eq!(ids(&batch.take()), [2]);
        assert!(batch.queue.lock().is_empty());
    }
}
