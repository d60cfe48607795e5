//! The contract between the HTTP core and whoever runs handlers (JavaScript,
//! through the binding). The core hands over a [`JsRequest`] and awaits the
//! [`JsResponse`] that comes back through [`Pending::complete`].
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use parking_lot::Mutex;
use tokio::sync::oneshot;

/// A routed request on its way to a handler.
#[derive(Debug)]
pub struct JsRequest {
    /// Correlates the answer ([`Pending::complete`]).
    pub id: u32,
    /// The route id given when the route was added.
    pub route: usize,
    pub method: Method,
    /// Path and query, as received.
    pub target: String,
    pub params: Vec<(Arc<str>, String)>,
    pub headers: Arc<HeaderMap>,
    pub body: Bytes,
    /// Values native layers handed over (e.g. JWT claims as "user"): `ctx.set(key, value)`.
    pub locals: Vec<(String, serde_json::Value)>,
    /// The client's address (None for in-process requests).
    pub peer: Option<std::net::IpAddr>,
}

/// A header of a handler's answer: the common ones are constants, not copies.
pub type AnswerHeader = (Cow<'static, str>, Cow<'static, str>);

/// The content type of a JSON answer.
pub const JSON_TYPE: &str = "application/json; charset=utf-8";

/// A handler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsResponse {
    pub status: u16,
    pub headers: Vec<AnswerHeader>,
    pub body: Bytes,
}

impl JsResponse {
    /// An error answered on a handler's behalf: `{"error": <error>, "message": <message>}`.
    pub fn error(status: u16, error: &str, message: &str) -> JsResponse {
        JsResponse {
            status,
            headers: vec![("content-type".into(), JSON_TYPE.into())],
            body: Bytes::from(
                serde_json::json!({ "error": error, "message": message }).to_string(),
            ),
        }
    }
}

/// Why a request could not be handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchError(pub String);

impl std::fmt::Display for DispatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs handlers. Implementations must not block: queue the request and return.
pub trait Dispatcher: Send + Sync + 'static {
    fn dispatch(&self, req: JsRequest) -> Result<(), DispatchError>;
}

/// Requests handed over and not yet answered.
#[derive(Default)]
pub struct Pending {
    next: AtomicU32,
    waiting: Mutex<HashMap<u32, oneshot::Sender<JsResponse>>>,
}

impl Pending {
    /// Reserves an id and the receiver its answer will arrive on.
    pub fn register(&self) -> (u32, oneshot::Receiver<JsResponse>) {
        let (tx, rx) = oneshot::channel();
        let mut waiting = self.waiting.lock();
        loop {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            if let std::collections::hash_map::Entry::Vacant(e) = waiting.entry(id) {
                e.insert(tx);
                return (id, rx);
            }
        }
    }

    /// Delivers an answer. Returns false when nobody waits for `id` any more
    /// (it timed out, or the id is unknown).
    pub fn complete(&self, id: u32, response: JsResponse) -> bool {
        let sender = self.waiting.lock().remove(&id);
        match sender {
            Some(tx) => tx.send(response).is_ok(),
            None => false,
        }
    }

    /// Forgets `id` (after a timeout).
    pub fn cancel(&self, id: u32) {
        self.waiting.lock().remove(&id);
    }

    /// How many requests wait for an answer.
    pub fn len(&self) -> usize {
        self.waiting.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16) -> JsResponse {
        JsResponse {
            status,
            headers: vec![],
            body: Bytes::new(),
        }
    }

    #[tokio::test]
    async fn complete_delivers_once() {
        let p = Pending::default();
        let (id, rx) = p.register();
        assert!(p.complete(id, resp(201)));
        assert_eq!(rx.await.unwrap().status, 201);
        assert!(!p.complete(id, resp(202)), "a second answer is refused");
        assert!(p.is_empty());
    }

    #[test]
    fn cancelled_ids_refuse_late_answers() {
        let p = Pending::default();
        let (id, _rx) = p.register();
        p.cancel(id);
        assert!(!p.complete(id, resp(200)));
    }

    #[test]
    fn ids_skip_those_still_waiting_after_wrapping() {
        let p = Pending::default();
        let (first, _rx) = p.register();
        p.next.store(first, Ordering::Relaxed);
        let (second, _rx2) = p.register();
        assert_ne!(first, second);
    }
}
