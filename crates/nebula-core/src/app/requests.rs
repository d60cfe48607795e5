//! How requests reach the JavaScript thread: queued in a [`WakeQueue`],
//! taken in batches after one wake-up.
//!
//! Inside the server's runtime the wake-up is deferred to the end of the
//! worker's tick (after the other ready connections have queued their
//! requests too): one wake-up then carries a whole round of requests instead
//! of the first one, which cut the hello route's cost by about a tenth.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use crate::http::{DispatchError, Dispatcher, JsRequest, JsResponse, Service};
use crate::support::wake_queue::{Bound, PushError, WakeQueue, Waker};

/// The most text (bytes of method, target, headers and address, an upper
/// bound of its UTF-16 length) one batch carries: far below V8's string
/// limit (~2^29 units) however large the queued heads are.
pub const TEXT_BUDGET: usize = 64 * 1024 * 1024;

/// An upper bound of the text a batch carries for `req` (see [`TEXT_BUDGET`]).
fn text_size(req: &JsRequest) -> usize {
    let headers: usize = req
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 2)
        .sum();
    req.method.as_str().len() + req.target.len() + headers + 48
}

/// Requests waiting for the JavaScript thread. Under load many arrive
/// between two wake-ups, and one call into JavaScript takes them all. Not
/// bounded by count: the connection limit and the handler timeout bound it.
pub struct RequestQueue {
    queue: WakeQueue<JsRequest>,
    /// Answers the queued requests when the JS thread refuses a deferred wake-up.
    service: OnceLock<Weak<Service>>,
    /// A deferred wake-up is scheduled on the runtime.
    deferred: AtomicBool,
}

struct ResetDeferred<'a>(&'a RequestQueue);

impl Drop for ResetDeferred<'_> {
    fn drop(&mut self) {
        self.0.deferred.store(false, Ordering::SeqCst);
    }
}

impl RequestQueue {
    pub fn new(waker: impl Waker) -> RequestQueue {
        RequestQueue {
            queue: WakeQueue::new(Bound::none(), waker),
            service: OnceLock::new(),
            deferred: AtomicBool::new(false),
        }
    }

    /// The service whose requests these are (set once, when it is built).
    pub fn serves(&self, service: &Arc<Service>) {
        let _ = self.service.set(Arc::downgrade(service));
    }

    /// For the JS side: the queued requests, as many as fit [`TEXT_BUDGET`]
    /// (at least one); those left get a wake-up of their own.
    pub fn take(&self) -> Vec<JsRequest> {
        self.queue.take_within(TEXT_BUDGET, text_size)
    }

    /// Wakes the JS thread; when it refuses (Node is exiting), the queued
    /// requests are answered 503 here since no dispatch call is left to fail.
    fn flush(&self) {
        self.deferred.store(false, Ordering::SeqCst);
        let Err(refused) = self.queue.wake() else {
            return;
        };
        let refused_requests = self.queue.take_all();
        let Some(service) = self.service.get().and_then(Weak::upgrade) else {
            return;
        };
        let answer = JsResponse::error(
            503,
            "Service Unavailable",
            &format!("handler unavailable: the JavaScript thread refused the call ({refused})"),
        );
        for req in refused_requests {
            service.complete(req.id, answer.clone());
        }
    }
}

/// The dispatcher of a built service: `Arc<RequestQueue>` is what the service holds.
pub struct QueueDispatcher(pub Arc<RequestQueue>);

impl Dispatcher for QueueDispatcher {
    fn dispatch(&self, req: JsRequest) -> Result<(), DispatchError> {
        let requests = &self.0;
        // A loop server's turn (loop mode, on the JavaScript thread) pushes
        // straight in: its owner drains the queue right after the turn.
        #[cfg(unix)]
        let runtime = (!crate::http::h1::in_turn())
            .then(tokio::runtime::Handle::try_current)
            .and_then(Result::ok);
        #[cfg(not(unix))]
        let runtime = tokio::runtime::Handle::try_current().ok();
        if let Some(runtime) = runtime {
            // Not bounded: never full.
            let _ = requests.queue.enqueue(req);
            if !requests.deferred.swap(true, Ordering::SeqCst) {
                let requests = requests.clone();
                runtime.spawn(async move {
                    // Should the task be dropped unrun (the runtime shutting
                    // down), the flag must not stay set: no wake-up would follow.
                    let _reset = ResetDeferred(&requests);
                    // Runs again once the worker has polled its other ready tasks and the sockets.
                    tokio::task::yield_now().await;
                    requests.flush();
                });
            }
            return Ok(());
        }
        match requests.queue.push(req) {
            Ok(()) => Ok(()),
            Err(PushError::Refused(refused)) => Err(DispatchError(format!(
                "the JavaScript thread refused the call ({refused})"
            ))),
            Err(PushError::Full) => Err(DispatchError("the request queue is full".into())),
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
            headers: Arc::new(headers),
            body: bytes::Bytes::new(),
            locals: Vec::new(),
            peer: None,
            valid: None,
        }
    }

    fn ids(requests: &[JsRequest]) -> Vec<u32> {
        requests.iter().map(|r| r.id).collect()
    }

    fn queue() -> RequestQueue {
        RequestQueue::new(|| Ok(()))
    }

    #[test]
    fn a_batch_takes_what_fits_its_text_budget_and_leaves_the_rest_queued() {
        let requests = queue();
        let third = TEXT_BUDGET / 3;
        for (id, size) in [(1, third), (2, third), (3, third), (4, 10)] {
            requests.queue.enqueue(request(id, size)).expect("queued");
        }
        assert_eq!(ids(&requests.take()), [1, 2]);
        assert_eq!(requests.queue.len(), 2, "left for the next wake-up");
        assert_eq!(ids(&requests.take()), [3, 4]);
        assert!(requests.queue.is_empty());
    }

    #[test]
    fn a_request_larger_than_the_budget_still_goes_alone() {
        let requests = queue();
        for (id, size) in [(1, TEXT_BUDGET + 1), (2, 10)] {
            requests.queue.enqueue(request(id, size)).expect("queued");
        }
        assert_eq!(ids(&requests.take()), [1]);
        assert_eq!(ids(&requests.take()), [2]);
        assert!(requests.queue.is_empty());
    }
}
