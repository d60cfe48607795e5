//! A native layer that must wait before it decides (`Flow::Pending`: an auth
//! check against a remote store, the cache's Redis lookup), in both places a
//! layer runs: the route's Rust prefix (`run_layers`) and the JS chain
//! (`http::js_chain`, when a TypeScript layer sits outside it). Either way
//! the request waits for the decision; a layer that never decides (it asks
//! to wait again) fails closed with 500 and an error log line.
mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request, StatusCode};
use nebula_core::http::js_chain::{self, Before, ChainRequest, Decided};
use nebula_core::http::{ServerConfig, ServiceBuilder};
use nebula_core::kernel::{Flow, LayerCtx, NativeLayer, Reply};
use serde_json::json;

use common::{answer, answer_next, body_json, build, GUARD};

/// Decides after a round trip through the runtime, like a lookup in Redis:
/// `authorization: ok` goes on (handing `user` over), anything else gets
/// 401. `before` notes in the scratch that it ran; `after` marks every
/// answer and says whether it found that note.
struct AsyncAuth;

/// What `before` leaves for `after`.
#[derive(Clone)]
struct Seen;

impl NativeLayer for AsyncAuth {
    fn name(&self) -> &'static str {
        "async-auth"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        ctx.scratch.insert(Seen);
        let allowed = ctx.headers.get("authorization").is_some_and(|v| v == "ok");
        Flow::Pending(Box::pin(async move {
            // A decision that really comes later: from another task.
            let decided = tokio::spawn(async move { allowed }).await.unwrap_or(false);
            if decided {
                Flow::Continue
            } else {
                Flow::Respond(Reply::error(StatusCode::UNAUTHORIZED, "not allowed"))
            }
        }))
    }

    fn after(&self, ctx: &LayerCtx<'_>, reply: &mut Reply) {
        let seen = if ctx.scratch.get::<Seen>().is_some() {
            "yes"
        } else {
            "no"
        };
        reply
            .headers
            .insert("x-auth-after", HeaderValue::from_static(seen));
    }
}

/// Hands `user` over in `before` (the future is `'static`: it cannot reach
/// the context), then waits before it lets the request on.
struct AsyncUser;

impl NativeLayer for AsyncUser {
    fn name(&self) -> &'static str {
        "async-user"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        ctx.locals.push(("user".into(), json!({ "id": 7 })));
        Flow::Pending(Box::pin(async {
            tokio::task::yield_now().await;
            Flow::Continue
        }))
    }
}

/// Breaks the contract: its pending decision is pending again.
struct WaitsTwice;

impl NativeLayer for WaitsTwice {
    fn name(&self) -> &'static str {
        "waits-twice"
    }

    fn before(&self, _ctx: &mut LayerCtx<'_>) -> Flow {
        Flow::Pending(Box::pin(async {
            Flow::Pending(Box::pin(async { Flow::Continue }))
        }))
    }
}

fn get(path: &str, auth: Option<&str>) -> Request<Full<Bytes>> {
    let mut b = Request::builder().method(Method::GET).uri(path);
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(Full::new(Bytes::new())).unwrap()
}

fn chain_request(auth: Option<&str>) -> ChainRequest {
    let mut headers = HeaderMap::new();
    if let Some(a) = auth {
        headers.insert("authorization", HeaderValue::from_str(a).unwrap());
    }
    ChainRequest {
        method: Method::GET,
        target: "/private?x=1".into(),
        route: "/private".into(),
        headers,
        peer: None,
        locals: vec![("requestId".into(), json!("r-1"))],
    }
}

/// The decision of a `before` that must wait, awaited (with a guard).
async fn later(before: Before) -> Decided {
    match before {
        Before::Later(fut) => tokio::time::timeout(GUARD, fut)
            .await
            .expect("the decision arrived"),
        Before::Now(_) => panic!("an async layer decided at once"),
    }
}

fn json_of(reply: &Reply) -> serde_json::Value {
    serde_json::from_slice(&reply.body).expect("a JSON body")
}

// --- the route's Rust prefix ---

#[tokio::test]
async fn a_route_waits_for_an_async_layer_that_refuses() {
    let mut b = ServiceBuilder::new(ServerConfig::default());
    b.add_route_with_layers(&[Method::GET], "/private", 0, vec![Arc::new(AsyncAuth)])
        .unwrap();
    let (svc, mut rx) = build(b);
    let res = svc.handle(get("/private", Some("no"))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["x-auth-after"], "yes");
    assert_eq!(body_json(res).await["message"], "not allowed");
    assert_eq!(svc.stats().js_calls, 0);
    assert!(rx.try_recv().is_err(), "the handler was not called");
}

#[tokio::test]
async fn a_route_waits_for_an_async_layer_that_lets_the_request_through() {
    let mut b = ServiceBuilder::new(ServerConfig::default());
    b.add_route_with_layers(
        &[Method::GET],
        "/private",
        0,
        vec![Arc::new(AsyncUser), Arc::new(AsyncAuth)],
    )
    .unwrap();
    let (svc, mut rx) = build(b);
    let (res, js) = tokio::join!(svc.handle(get("/private", Some("ok"))), async {
        answer_next(&svc, &mut rx, answer(200, &[], "secret")).await
    });
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-auth-after"], "yes");
    assert_eq!(js.locals, vec![("user".to_owned(), json!({ "id": 7 }))]);
}

#[tokio::test]
async fn a_route_layer_that_waits_twice_fails_closed() {
    let mut b = ServiceBuilder::new(ServerConfig::default());
    b.add_route_with_layers(&[Method::GET], "/private", 0, vec![Arc::new(WaitsTwice)])
        .unwrap();
    let (svc, mut rx) = build(b);
    let res = svc.handle(get("/private", Some("ok"))).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let v = body_json(res).await;
    assert_eq!(v["error"], "Internal Server Error");
    assert_eq!(
        v["message"],
        "native layer waits-twice did not decide on this request"
    );
    assert_eq!(svc.stats().js_calls, 0);
    assert!(rx.try_recv().is_err(), "the handler was not called");
}

// --- the JS chain (a TypeScript layer outside the native one) ---

#[tokio::test]
async fn the_js_chain_waits_for_an_async_layer_that_refuses() {
    let d = later(js_chain::before(Arc::new(AsyncAuth), chain_request(None))).await;
    let reply = d.respond.expect("the layer answered");
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.headers["x-auth-after"], "yes",
        "after ran on the answer"
    );
    assert_eq!(json_of(&reply)["message"], "not allowed");
    assert!(
        d.held.is_none(),
        "nothing is kept for an after that is not due"
    );
}

#[tokio::test]
async fn the_js_chain_waits_for_an_async_layer_that_lets_the_request_through() {
    let layer: Arc<dyn NativeLayer> = Arc::new(AsyncAuth);
    let d = later(js_chain::before(layer.clone(), chain_request(Some("ok")))).await;
    assert!(d.respond.is_none());
    assert!(
        d.added.is_empty(),
        "outer layers' locals are not handed back"
    );
    // The inner layers answer; the layer's `after` finds what its `before` kept.
    let mut reply = Reply::empty(StatusCode::OK);
    js_chain::after(&*layer, chain_request(Some("ok")), d.held, &mut reply);
    assert_eq!(reply.headers["x-auth-after"], "yes");

    let d = later(js_chain::before(Arc::new(AsyncUser), chain_request(None))).await;
    assert!(d.respond.is_none());
    assert_eq!(d.added, vec![("user".to_owned(), json!({ "id": 7 }))]);
}

#[tokio::test]
async fn the_js_chain_fails_closed_on_a_layer_that_waits_twice() {
    let d = later(js_chain::before(
        Arc::new(WaitsTwice),
        chain_request(Some("ok")),
    ))
    .await;
    let reply = d.respond.expect("refused, not let through");
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        json_of(&reply)["message"],
        "native layer waits-twice did not decide on this request"
    );
    assert!(d.held.is_none());
}

#[test]
fn a_layer_that_decides_at_once_is_not_awaited() {
    struct Sync;
    impl NativeLayer for Sync {
        fn name(&self) -> &'static str {
            "sync"
        }
        fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
            if ctx.headers.contains_key("authorization") {
                Flow::Continue
            } else {
                Flow::Respond(Reply::error(StatusCode::UNAUTHORIZED, "no"))
            }
        }
    }
    // No runtime here: nothing waits.
    match js_chain::before(Arc::new(Sync), chain_request(Some("ok"))) {
        Before::Now(d) => assert!(d.respond.is_none() && d.held.is_some()),
        Before::Later(_) => panic!("a sync layer must not wait"),
    }
    match js_chain::before(Arc::new(Sync), chain_request(None)) {
        Before::Now(d) => assert_eq!(d.respond.map(|r| r.status), Some(StatusCode::UNAUTHORIZED)),
        Before::Later(_) => panic!("a sync layer must not wait"),
    }
}

/// Records the error events' `layer` fields.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<String>>>);

struct LayerField(Option<String>);

impl tracing::field::Visit for LayerField {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "layer" {
            self.0 = Some(format!("{value:?}"));
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "layer" {
            self.0 = Some(value.to_owned());
        }
    }
}

impl tracing::Subscriber for Errors {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            let mut field = LayerField(None);
            event.record(&mut field);
            self.0.lock().unwrap().extend(field.0);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_layer_that_never_decides_is_logged_by_name() {
    let errors = Errors::default();
    // Other tests of this binary may build tracing's interest cache while no
    // subscriber listens; retried (a few times at most) while nothing arrived.
    for _ in 0..5 {
        tracing::subscriber::with_default(errors.clone(), || {
            tracing::callsite::rebuild_interest_cache();
            let still_pending = Flow::Pending(Box::pin(async { Flow::Continue }));
            let reply = still_pending.answer("waits-twice").expect("refused");
            assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        });
        if !errors.0.lock().unwrap().is_empty() {
            break;
        }
    }
    assert_eq!(*errors.0.lock().unwrap(), vec!["waits-twice".to_owned()]);
}
