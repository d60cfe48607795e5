//! The contract between the HTTP core and whoever runs handlers (JavaScript,
//! through the binding). The core hands over a [`JsRequest`] and awaits the
//! [`JsResponse`] that comes back through [`Pending::complete`].
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::kernel::{Streamed, JSON_TYPE};

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
    /// The route's validated query, params and headers, coerced to their
    /// schemas' types, as JSON `{"query":…,"param":…,"header":…}`
    /// ([`super::validate`]); None when the route validates none of them.
    pub valid: Option<String>,
}

/// A header of a handler's answer: the common ones are constants, not copies.
pub type AnswerHeader = (Cow<'static, str>, Cow<'static, str>);

/// A handler's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JsResponse {
    pub status: u16,
    pub headers: Vec<AnswerHeader>,
    pub body: Bytes,
    /// A body the handler still writes (a streamed action): `body` is empty then.
    pub stream: Option<Streamed>,
}

impl JsResponse {
    /// An error answered on a handler's behalf: `{"error": <error>, "message": <message>}`.
    pub fn error(status: u16, error: &str, message: &str) -> JsResponse {
        JsResponse {
            status,
            headers: vec![("content-type".into(), JSON_TYPE.into())],
            body: Bytes::from(crate::kernel::error_json(error, message).to_string()),
            stream: None,
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

/// A request handed over: where its answer goes, and until when it may come.
struct Waiting {
    tx: oneshot::Sender<JsResponse>,
    deadline: Instant,
}

/// Requests handed over and not yet answered. One sweep task per set (run
/// while anything waits) answers those past the handler timeout with a 503:
/// cheaper than a timer per request, at the price of answering up to one
/// tick ([`Pending::tick`]) late.
pub struct Pending {
    next: AtomicU32,
    waiting: Mutex<HashMap<u32, Waiting>>,
    timeout: Duration,
    /// A sweep task is running (or being started).
    sweeping: AtomicBool,
}

impl Pending {
    /// Requests time out `timeout` after they are handed over.
    pub fn new(timeout: Duration) -> Arc<Pending> {
        Arc::new(Pending {
            next: AtomicU32::new(0),
            waiting: Mutex::new(HashMap::new()),
            timeout,
            sweeping: AtomicBool::new(false),
        })
    }

    /// How often the sweep looks: a sixteenth of the timeout, within 1–100 ms.
    pub fn tick(&self) -> Duration {
        (self.timeout / 16).clamp(Duration::from_millis(1), Duration::from_millis(100))
    }

    /// Reserves an id and the receiver its answer will arrive on: the
    /// handler's, or a 503 once the timeout has passed. Call inside a tokio
    /// runtime (the sweep runs on it).
    pub fn register(self: &Arc<Self>) -> (u32, oneshot::Receiver<JsResponse>) {
        let (tx, rx) = oneshot::channel();
        let deadline = Instant::now() + self.timeout;
        let id = {
            let mut waiting = self.waiting.lock();
            loop {
                let id = self.next.fetch_add(1, Ordering::Relaxed);
                if let std::collections::hash_map::Entry::Vacant(e) = waiting.entry(id) {
                    e.insert(Waiting { tx, deadline });
                    break id;
                }
            }
        };
        // After the insert: a sweep that finds the set empty stops under the
        // lock, so either it saw this request or this call starts a new one.
        if !self.sweeping.swap(true, Ordering::SeqCst) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(sweep(Arc::downgrade(self)));
                }
                Err(_) => self.sweeping.store(false, Ordering::SeqCst),
            }
        }
        (id, rx)
    }

    /// Delivers an answer. Returns false when nobody waits for `id` any more
    /// (it timed out, or the id is unknown).
    pub fn complete(&self, id: u32, response: JsResponse) -> bool {
        let waiting = self.waiting.lock().remove(&id);
        match waiting {
            Some(w) => w.tx.send(response).is_ok(),
            None => false,
        }
    }

    /// Forgets `id` (its client went away).
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

    /// Takes the requests past their deadline; None (and the sweep ends) when none waits.
    fn expired(&self, now: Instant) -> Option<Vec<oneshot::Sender<JsResponse>>> {
        let mut waiting = self.waiting.lock();
        if waiting.is_empty() {
            self.sweeping.store(false, Ordering::SeqCst);
            return None;
        }
        Some(
            waiting
                .extract_if(|_, w| w.deadline <= now)
                .map(|(_, w)| w.tx)
                .collect(),
        )
    }
}

/// Clears the flag if the sweep task is dropped unfinished (its runtime shut
/// down), so that the next request starts a new one.
struct SweepGuard {
    pending: Weak<Pending>,
    /// False once the sweep has ended on its own (the flag is cleared then).
    armed: bool,
}

impl Drop for SweepGuard {
    fn drop(&mut self) {
        if self.armed {
            if let Some(p) = self.pending.upgrade() {
                p.sweeping.store(false, Ordering::SeqCst);
            }
        }
    }
}

async fn sweep(pending: Weak<Pending>) {
    let mut guard = SweepGuard {
        pending: pending.clone(),
        armed: true,
    };
    let Some((tick, timeout)) = pending.upgrade().map(|p| (p.tick(), p.timeout)) else {
        return;
    };
    let answer = JsResponse::error(
        503,
        "Service Unavailable",
        &format!("handler did not answer within {} ms", timeout.as_millis()),
    );
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(p) = pending.upgrade() else { return };
        let Some(late) = p.expired(Instant::now()) else {
            guard.armed = false;
            return;
        };
        drop(p);
        for tx in late {
            let _ = tx.send(answer.clone());
        }
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
            stream: None,
        }
    }

    fn pending() -> Arc<Pending> {
        Pending::new(Duration::from_secs(30))
    }

    #[tokio::test]
    async fn complete_delivers_once() {
        let p = pending();
        let (id, rx) = p.register();
        assert!(p.complete(id, resp(201)));
        assert_eq!(rx.await.unwrap().status, 201);
        assert!(!p.complete(id, resp(202)), "a second answer is refused");
        assert!(p.is_empty());
    }

    #[tokio::test]
    async fn cancelled_ids_refuse_late_answers() {
        let p = pending();
        let (id, _rx) = p.register();
        p.cancel(id);
        assert!(!p.complete(id, resp(200)));
    }

    #[tokio::test]
    async fn ids_skip_those_still_waiting_after_wrapping() {
        let p = pending();
        let (first, _rx) = p.register();
        p.next.store(first, Ordering::Relaxed);
        let (second, _rx2) = p.register();
        assert_ne!(first, second);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_its_timeout_gets_a_503_and_its_late_answer_is_refused() {
        let p = Pending::new(Duration::from_millis(160));
        let started = tokio::time::Instant::now();
        let (id, rx) = p.register();
        let answer = rx.await.unwrap();
        let waited = started.elapsed();
        assert_eq!(answer.status, 503);
        assert!(String::from_utf8_lossy(&answer.body).contains("within 160 ms"));
        assert!(
            waited >= Duration::from_millis(160) && waited <= Duration::from_millis(160) + p.tick(),
            "answered after {waited:?}"
        );
        assert!(!p.complete(id, resp(200)), "the late answer is refused");
        assert!(p.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweep_stops_when_nothing_waits_and_the_next_request_starts_it_again() {
        let p = Pending::new(Duration::from_millis(50));
        let (id, _rx) = p.register();
        assert!(p.sweeping.load(Ordering::SeqCst));
        assert!(p.complete(id, resp(200)));
        // The sweep's next look finds nothing waiting and ends.
        tokio::time::sleep(p.tick() * 2).await;
        assert!(!p.sweeping.load(Ordering::SeqCst));
        let (_, rx) = p.register();
        assert_eq!(
            rx.await.unwrap().status,
            503,
            "a new sweep times the new request out"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn answered_requests_are_not_touched_by_the_sweep() {
        let p = Pending::new(Duration::from_millis(50));
        let (early, early_rx) = p.register();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (_, late_rx) = p.register();
        assert!(p.complete(early, resp(201)));
        assert_eq!(early_rx.await.unwrap().status, 201);
        let started = tokio::time::Instant::now();
        assert_eq!(late_rx.await.unwrap().status, 503);
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "the second request had its own full timeout"
        );
    }
}
