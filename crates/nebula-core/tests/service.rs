//! `Service::handle` without a socket: routing, limits, timeouts, built-in
//! routes, static files and the handler contract.
mod common;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::body::Frame;
use hyper::{Method, Request};
use nebula_core::http::static_files::{CachePolicy, StaticFiles, StaticMount};
use nebula_core::http::{AppInfo, ServerConfig, ServiceBuilder};
use serde_json::json;

fn builder() -> ServiceBuilder {
    ServiceBuilder::new(ServerConfig::default())
}

fn req(method: Method, uri: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// A body of `chunks` pieces with no known length; counts the pieces taken.
struct ChunkBody {
    chunks: VecDeque<Bytes>,
    taken: Arc<AtomicUsize>,
}

impl http_body::Body for ChunkBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let next = self.chunks.pop_front();
        if next.is_some() {
            self.taken.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }
}

#[tokio::test]
async fn found_route_hands_over_request_and_returns_answer() {
    let mut b = builder();
    b.add_route(&[Method::POST], "/users/:id/files/*", 7)
        .unwrap();
    let (svc, mut rx) = build(b);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/users/a%20b/files/x/y.txt?q=1&r=%20")
        .header("x-test", "yes")
        .body(Full::new(Bytes::from_static(b"payload")))
        .unwrap();
    let (res, js) = tokio::join!(svc.handle(request), async {
        let js = recv(&mut rx).await;
        assert_eq!(svc.stats().in_flight, 1, "in flight while the handler runs");
        let reply = answer(
            201,
            &[("x-reply", "ok"), ("content-type", "text/plain")],
            "done",
        );
        assert!(svc.complete(js.id, reply));
        js
    });
    assert_eq!(js.route, 7);
    assert_eq!(js.method, Method::POST);
    assert_eq!(js.target, "/users/a%20b/files/x/y.txt?q=1&r=%20");
    let params: Vec<(&str, &str)> = js.params.iter().map(|(k, v)| (&**k, v.as_str())).collect();
    assert_eq!(params, [("id", "a b"), ("*", "x/y.txt")]);
    assert_eq!(js.headers.get("x-test").unwrap(), "yes");
    assert_eq!(js.body, Bytes::from_static(b"payload"));

    assert_eq!(res.status(), 201);
    assert_eq!(res.headers().get("x-reply").unwrap(), "ok");
    assert_eq!(res.headers().get("content-type").unwrap(), "text/plain");
    assert_eq!(body_bytes(res).await, "done");
    let stats = svc.stats();
    assert_eq!((stats.requests, stats.js_calls, stats.in_flight), (1, 1, 0));
}

#[tokio::test]
async fn unknown_path_is_404_json_without_js_call() {
    let mut b = builder();
    b.add_route(&[Method::GET], "/known", 1).unwrap();
    let (svc, mut rx) = build(b);
    let res = svc.handle(req(Method::GET, "/unknown")).await;
    assert_eq!(res.status(), 404);
    let v = body_json(res).await;
    assert_eq!(v["error"], "Not Found");
    assert!(v["message"].is_string(), "message: {v}");
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    assert!(rx.try_recv().is_err(), "no request was dispatched");
    let stats = svc.stats();
    assert_eq!((stats.requests, stats.js_calls, stats.in_flight), (1, 0, 0));
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let mut b = builder();
    b.add_route(&[Method::GET, Method::POST], "/items", 1)
        .unwrap();
    let (svc, mut rx) = build(b);
    let res = svc.handle(req(Method::DELETE, "/items")).await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers().get("allow").unwrap(), "GET, HEAD, POST");
    let v = body_json(res).await;
    assert_eq!(v["error"], "Method Not Allowed");
    assert!(rx.try_recv().is_err());
    assert_eq!(svc.stats().js_calls, 0);
}

#[tokio::test]
async fn head_falls_back_to_get_route() {
    let mut b = builder();
    b.add_route(&[Method::GET], "/page", 3).unwrap();
    let (svc, mut rx) = build(b);
    let (res, js) = tokio::join!(
        svc.handle(req(Method::HEAD, "/page")),
        answer_next(&svc, &mut rx, answer(200, &[("x-h", "1")], ""))
    );
    assert_eq!(js.route, 3);
    assert_eq!(js.method, Method::HEAD);
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("x-h").unwrap(), "1");
}

fn limited(limit: usize) -> ServiceBuilder {
    let mut b = ServiceBuilder::new(ServerConfig {
        body_limit: limit,
        ..ServerConfig::default()
    });
    b.add_route(&[Method::POST], "/upload", 1).unwrap();
    b
}

#[tokio::test]
async fn declared_body_over_limit_is_413_before_dispatch() {
    let (svc, mut rx) = build(limited(8));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/upload")
        .header("content-length", "100")
        .body(Full::new(Bytes::from(vec![b'x'; 100])))
        .unwrap();
    let res = svc.handle(request).await;
    assert_eq!(res.status(), 413);
    assert_eq!(body_json(res).await["error"], "Payload Too Large");
    assert!(rx.try_recv().is_err());
    assert_eq!(svc.stats().js_calls, 0);
}

#[tokio::test]
async fn streamed_body_growing_past_limit_is_413_after_a_bounded_drain() {
    // Small excess: the rest is read and discarded, so the 413 is not lost to a reset.
    let (svc, mut rx) = build(limited(10));
    let small = Arc::new(AtomicUsize::new(0));
    let body = ChunkBody {
        chunks: (0..100).map(|_| Bytes::from_static(b"abcd")).collect(),
        taken: small.clone(),
    };
    let request = Request::builder()
        .method(Method::POST)
        .uri("/upload")
        .body(body)
        .unwrap();
    let res = svc.handle(request).await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["connection"], "close");
    assert_eq!(body_json(res).await["error"], "Payload Too Large");
    assert!(rx.try_recv().is_err());
    assert_eq!(svc.stats().js_calls, 0);
    assert_eq!(
        small.load(Ordering::SeqCst),
        100,
        "a small excess is drained"
    );

    // Huge excess: draining stops at the budget instead of reading it all.
    let big = Arc::new(AtomicUsize::new(0));
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let body = ChunkBody {
        chunks: (0..200).map(|_| chunk.clone()).collect(),
        taken: big.clone(),
    };
    let request = Request::builder()
        .method(Method::POST)
        .uri("/upload")
        .body(body)
        .unwrap();
    assert_eq!(svc.handle(request).await.status(), 413);
    let n = big.load(Ordering::SeqCst);
    assert!(
        n < 200,
        "draining is bounded (8 MiB), took {n} of 200 chunks of 64 KiB"
    );
}

#[tokio::test]
async fn body_exactly_at_limit_is_accepted() {
    let (svc, mut rx) = build(limited(8));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/upload")
        .header("content-length", "8")
        .body(Full::new(Bytes::from_static(b"12345678")))
        .unwrap();
    let (res, js) = tokio::join!(
        svc.handle(request),
        answer_next(&svc, &mut rx, answer(200, &[], ""))
    );
    assert_eq!(res.status(), 200);
    assert_eq!(js.body, "12345678");
}

#[tokio::test]
async fn handler_timeout_is_503_and_late_answer_refused() {
    let mut b = ServiceBuilder::new(ServerConfig {
        handler_timeout: Duration::from_millis(100),
        ..ServerConfig::default()
    });
    b.add_route(&[Method::GET], "/slow", 1).unwrap();
    let (svc, mut rx) = build(b);
    let (res, js) = tokio::join!(svc.handle(req(Method::GET, "/slow")), recv(&mut rx));
    assert_eq!(res.status(), 503);
    assert_eq!(body_json(res).await["error"], "Service Unavailable");
    assert!(
        !svc.complete(js.id, answer(200, &[], "late")),
        "a late answer must be refused"
    );
    assert_eq!(svc.stats().in_flight, 0);
}

#[tokio::test]
async fn invalid_response_header_dropped_rest_kept() {
    let mut b = builder();
    b.add_route(&[Method::GET], "/h", 1).unwrap();
    let (svc, mut rx) = build(b);
    let headers = [
        ("x-before", "1"),
        ("bad header", "x"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
    ];
    let (res, _) = tokio::join!(
        svc.handle(req(Method::GET, "/h")),
        answer_next(&svc, &mut rx, answer(200, &headers, "ok"))
    );
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h.get("x-before").unwrap(), "1");
    let cookies: Vec<_> = h.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(h.len(), 3, "only the invalid header is dropped: {h:?}");
    assert_eq!(body_bytes(res).await, "ok");
}

#[tokio::test]
async fn status_outside_200_599_becomes_500() {
    let mut b = builder();
    b.add_route(&[Method::GET], "/s", 1).unwrap();
    let (svc, mut rx) = build(b);
    for status in [0, 101, 199, 600, 999] {
        let (res, _) = tokio::join!(
            svc.handle(req(Method::GET, "/s")),
            answer_next(&svc, &mut rx, answer(status, &[], "x"))
        );
        assert_eq!(res.status(), 500, "handler status {status}");
    }
}

fn with_info(prefix: &str) -> ServiceBuilder {
    let mut b = builder();
    b.info(AppInfo {
        name: "svc \"quoted\"".into(),
        version: "1.2.3".into(),
        prefix: prefix.into(),
    });
    b
}

#[tokio::test]
async fn version_route_reports_name_version_running() {
    let (svc, mut rx) = build(with_info("/api/"));
    let res = svc.handle(req(Method::GET, "/api/_version")).await;
    assert_eq!(res.status(), 200);
    let v = body_json(res).await;
    assert_eq!(
        v,
        json!({"name": "svc \"quoted\"", "version": "1.2.3", "status": "running"})
    );
    assert!(rx.try_recv().is_err());
    assert_eq!(svc.stats().js_calls, 0);
}

#[tokio::test]
async fn health_route_answers_ok() {
    let (svc, _rx) = build(with_info("/api"));
    let res = svc.handle(req(Method::GET, "/health")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(body_json(res).await, json!({"status": "ok"}));
}

#[tokio::test]
async fn user_route_wins_over_version_route() {
    let mut b = with_info("/api");
    b.add_route(&[Method::GET], "/api/_version", 9).unwrap();
    let (svc, mut rx) = build(b);
    let (res, js) = tokio::join!(
        svc.handle(req(Method::GET, "/api/_version")),
        answer_next(&svc, &mut rx, answer(200, &[], "mine"))
    );
    assert_eq!(js.route, 9);
    assert_eq!(body_bytes(res).await, "mine");
}

#[tokio::test]
async fn without_info_version_and_health_are_404() {
    let (svc, _rx) = build(builder());
    for path in ["/_version", "/health"] {
        let res = svc.handle(req(Method::GET, path)).await;
        assert_eq!(res.status(), 404, "{path}");
    }
}

fn with_statics(dir: &tempfile::TempDir) -> ServiceBuilder {
    std::fs::write(dir.path().join("hello.txt"), "hi from disk").unwrap();
    let mut b = builder();
    let statics = StaticFiles::new(vec![StaticMount {
        prefix: String::new(),
        root: dir.path().to_path_buf(),
        cache: CachePolicy::NoCache,
    }])
    .unwrap();
    b.statics(statics);
    b
}

#[tokio::test]
async fn static_file_served_when_no_route_matches() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = with_statics(&dir);
    b.add_route(&[Method::GET], "/api/x", 1).unwrap();
    let (svc, mut rx) = build(b);
    let res = svc.handle(req(Method::GET, "/hello.txt")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(body_bytes(res).await, "hi from disk");
    let res = svc.handle(req(Method::GET, "/missing.txt")).await;
    assert_eq!(res.status(), 404);
    assert!(rx.try_recv().is_err());
    assert_eq!(svc.stats().js_calls, 0);
}

#[tokio::test]
async fn route_wins_over_static_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = with_statics(&dir);
    b.add_route(&[Method::GET], "/hello.txt", 4).unwrap();
    let (svc, mut rx) = build(b);
    let (res, js) = tokio::join!(
        svc.handle(req(Method::GET, "/hello.txt")),
        answer_next(&svc, &mut rx, answer(200, &[], "from handler"))
    );
    assert_eq!(js.route, 4);
    assert_eq!(body_bytes(res).await, "from handler");
}

#[tokio::test]
async fn dispatch_error_is_503_json() {
    let mut b = builder();
    b.add_route(&[Method::GET], "/x", 1).unwrap();
    let svc = b.build(Arc::new(FailingDispatcher));
    let res = svc.handle(req(Method::GET, "/x")).await;
    assert_eq!(res.status(), 503);
    let v = body_json(res).await;
    assert_eq!(v["error"], "Service Unavailable");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("handler pool is closed"), "{msg}");
    assert_eq!(svc.stats().in_flight, 0);
    assert_eq!(
        svc.stats().js_calls,
        0,
        "a refused dispatch is not a JS call"
    );
}

#[tokio::test]
async fn route_for_another_method_does_not_hide_health_or_static_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = with_statics(&dir);
    b.info(AppInfo {
        name: "svc".into(),
        version: "1".into(),
        prefix: String::new(),
    });
    b.add_route(&[Method::POST], "/health", 1).unwrap();
    b.add_route(&[Method::POST], "/hello.txt", 2).unwrap();
    let (svc, _rx) = build(b);
    let res = svc.handle(req(Method::GET, "/health")).await;
    assert_eq!(res.status(), 200);
    let res = svc.handle(req(Method::GET, "/hello.txt")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(body_bytes(res).await, "hi from disk");
    // A method neither the routes nor the built-ins take is still 405.
    let res = svc.handle(req(Method::PUT, "/health")).await;
    assert_eq!(res.status(), 405);
    assert_eq!(svc.stats().js_calls, 0);
}

#[tokio::test]
async fn framing_headers_from_the_handler_are_not_copied() {
    let mut b = builder();
    b.add_route(&[Method::GET], "/x", 1).unwrap();
    let (svc, mut rx) = build(b);
    let (res, _) = tokio::join!(
        svc.handle(req(Method::GET, "/x")),
        answer_next(
            &svc,
            &mut rx,
            answer(
                200,
                &[
                    ("content-length", "100"),
                    ("transfer-encoding", "chunked"),
                    ("connection", "keep-alive"),
                    ("x-kept", "yes")
                ],
                "hello"
            )
        )
    );
    assert_eq!(res.headers().get("x-kept").unwrap(), "yes");
    assert!(res.headers().get("transfer-encoding").is_none());
    assert!(res.headers().get("connection").is_none());
    // hyper derives Content-Length from the body itself (5), not the handler's 100.
    assert!(res.headers().get("content-length").is_none());
    assert_eq!(body_bytes(res).await, "hello");
}

#[tokio::test]
async fn a_client_that_goes_away_leaves_no_pending_entry() {
    let mut b = builder();
    b.add_route(&[Method::GET], "/x", 1).unwrap();
    let (svc, mut rx) = build(b);
    let svc2 = svc.clone();
    let call = tokio::spawn(async move { svc2.handle(req(Method::GET, "/x")).await });
    let seen = recv(&mut rx).await;
    call.abort();
    let _ = call.await;
    assert!(
        !svc.complete(seen.id, answer(200, &[], "late")),
        "the pending entry went away with the client"
    );
    assert_eq!(svc.stats().in_flight, 0);
}
