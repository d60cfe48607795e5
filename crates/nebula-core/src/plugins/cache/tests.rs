//! The memory store's bounds and TTL, the route layer's Cache-Control
//! handling, the method-call operations and the Redis encoding, on a clock
//! moved by hand.
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, AGE, CACHE_CONTROL};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use super::*;
use crate::kernel::run_layers;

/// A wall clock that only moves when told to.
struct ManualClock(AtomicU64);

impl ManualClock {
    fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicU64::new(1_700_000_000_000)))
    }
    fn advance_ms(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn plugin(options: Value) -> (CachePlugin, Arc<ManualClock>) {
    let clock = ManualClock::new();
    match CachePlugin::with_clock(&options, clock.clone()) {
        Ok(p) => (p, clock),
        Err(e) => panic!("{e}"),
    }
}

fn layer(plugin: &CachePlugin, options: Value) -> Arc<dyn NativeLayer> {
    let mut o = json!({ "module": "users", "method": "get" });
    if let (Some(base), Some(extra)) = (o.as_object_mut(), options.as_object()) {
        base.extend(extra.clone());
    }
    match plugin.layer(&o) {
        Ok(Some(l)) => l,
        other => panic!("no layer: {:?}", other.err()),
    }
}

/// A handler that answers `reply` and counts its calls.
struct Origin {
    reply: Reply,
    calls: AtomicUsize,
}

impl Origin {
    fn new(reply: Reply) -> Origin {
        Origin {
            reply,
            calls: AtomicUsize::new(0),
        }
    }
    fn ok(body: &'static str) -> Origin {
        let mut r = Reply::empty(StatusCode::OK);
        r.body = Bytes::from_static(body.as_bytes());
        Origin::new(r)
    }
    fn with(mut self, name: &'static str, value: &'static str) -> Origin {
        self.reply.headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
        self
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// One request through `layer` to `origin`.
async fn send(
    layer: &Arc<dyn NativeLayer>,
    origin: &Origin,
    method: Method,
    target: &str,
    headers: &[(&'static str, &'static str)],
) -> Reply {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    let mut locals = Vec::new();
    let mut scratch = hyper::http::Extensions::new();
    let path = target.split('?').next().unwrap_or("/").to_owned();
    let mut ctx = LayerCtx {
        method: &method,
        path: &path,
        target,
        route: "/users/:id",
        params: &[],
        headers: &map,
        peer: None,
        started: Instant::now(),
        locals: &mut locals,
        scratch: &mut scratch,
    };
    run_layers(std::slice::from_ref(layer), &mut ctx, |_| async {
        origin.calls.fetch_add(1, Ordering::SeqCst);
        origin.reply.clone()
    })
    .await
}

async fn get(layer: &Arc<dyn NativeLayer>, origin: &Origin, target: &str) -> Reply {
    get_with(layer, origin, target, &[]).await
}

/// A GET with these request headers.
async fn get_with(
    layer: &Arc<dyn NativeLayer>,
    origin: &Origin,
    target: &str,
    headers: &[(&'static str, &'static str)],
) -> Reply {
    send(layer, origin, Method::GET, target, headers).await
}

fn x_cache(r: &Reply) -> Option<&str> {
    r.headers.get(X_CACHE).and_then(|v| v.to_str().ok())
}

// ---- routes -------------------------------------------------------------------

#[tokio::test]
async fn a_second_get_is_answered_from_the_cache_with_age() {
    let (p, clock) = plugin(json!({}));
    let l = layer(&p, json!({ "ttl": 10_000 }));
    let origin = Origin::ok("hello").with("content-type", "text/plain");
    let first = get(&l, &origin, "/users/1").await;
    assert_eq!(x_cache(&first), Some("MISS"));
    clock.advance_ms(3_500);
    let second = get(&l, &origin, "/users/1").await;
    assert_eq!(origin.calls(), 1);
    assert_eq!(x_cache(&second), Some("HIT"));
    assert_eq!(second.headers[AGE], "3");
    assert_eq!(second.body, "hello");
    assert_eq!(second.headers["content-type"], "text/plain");
    // Another query string is another entry.
    get(&l, &origin, "/users/1?v=2").await;
    assert_eq!(origin.calls(), 2);
}

#[tokio::test]
async fn a_route_entry_expires_after_the_ttl() {
    let (p, clock) = plugin(json!({}));
    let l = layer(&p, json!({ "ttl": 1000 }));
    let origin = Origin::ok("x");
    get(&l, &origin, "/a").await;
    clock.advance_ms(999);
    assert_eq!(x_cache(&get(&l, &origin, "/a").await), Some("HIT"));
    clock.advance_ms(1);
    assert_eq!(x_cache(&get(&l, &origin, "/a").await), Some("MISS"));
    assert_eq!(origin.calls(), 2);
}

#[tokio::test]
async fn replies_that_forbid_storing_are_not_stored() {
    let cases: Vec<Origin> = vec![
        Origin::ok("x").with("cache-control", "no-store"),
        Origin::ok("x").with("cache-control", "private, max-age=60"),
        Origin::ok("x").with("cache-control", "No-Cache"),
        Origin::ok("x").with("cache-control", "max-age=0"),
        Origin::ok("x").with("set-cookie", "sid=1"),
        Origin::ok("x").with("vary", "*"),
        Origin::new(Reply::empty(StatusCode::CREATED)),
        Origin::new(Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "boom")),
    ];
    for origin in cases {
        let (p, _) = plugin(json!({}));
        let l = layer(&p, json!({}));
        get(&l, &origin, "/a").await;
        let again = get(&l, &origin, "/a").await;
        assert_eq!(origin.calls(), 2, "stored {:?}", origin.reply.headers);
        assert_eq!(x_cache(&again), Some("MISS"));
    }
}

#[tokio::test]
async fn max_age_and_s_maxage_lower_the_ttl() {
    let (p, clock) = plugin(json!({}));
    let l = layer(&p, json!({ "ttl": 60_000 }));
    let origin = Origin::ok("x").with("cache-control", "public, max-age=2");
    get(&l, &origin, "/a").await;
    clock.advance_ms(1999);
    assert_eq!(x_cache(&get(&l, &origin, "/a").await), Some("HIT"));
    clock.advance_ms(1);
    assert_eq!(x_cache(&get(&l, &origin, "/a").await), Some("MISS"));
    // s-maxage wins over max-age for a shared cache; a longer max-age does not raise the ttl.
    let s = Origin::ok("x").with("cache-control", "max-age=600, s-maxage=1");
    let (p, clock) = plugin(json!({}));
    let l = layer(&p, json!({ "ttl": 60_000 }));
    get(&l, &s, "/b").await;
    clock.advance_ms(1000);
    assert_eq!(x_cache(&get(&l, &s, "/b").await), Some("MISS"));
    let long = Origin::ok("x").with("cache-control", "max-age=600");
    let l = layer(&p, json!({ "ttl": 500, "method": "other" }));
    get(&l, &long, "/c").await;
    clock.advance_ms(500);
    assert_eq!(x_cache(&get(&l, &long, "/c").await), Some("MISS"));
}

#[tokio::test]
async fn client_cache_control_is_honoured() {
    let (p, clock) = plugin(json!({}));
    let l = layer(&p, json!({}));
    let origin = Origin::ok("x");
    get(&l, &origin, "/a").await;
    // no-cache: goes to the handler, and its reply refreshes the entry.
    let r = get_with(&l, &origin, "/a", &[("cache-control", "no-cache")]).await;
    assert_eq!((origin.calls(), x_cache(&r)), (2, Some("MISS")));
    let r = get_with(&l, &origin, "/a", &[("pragma", "no-cache")]).await;
    assert_eq!((origin.calls(), x_cache(&r)), (3, Some("MISS")));
    clock.advance_ms(5000);
    // max-age=2: the 5 s old entry is too old for this client, fine for others.
    get_with(&l, &origin, "/a", &[("cache-control", "max-age=2")]).await;
    assert_eq!(origin.calls(), 4);
    clock.advance_ms(1000);
    let r = get_with(&l, &origin, "/a", &[("cache-control", "max-age=2")]).await;
    assert_eq!((origin.calls(), x_cache(&r)), (4, Some("HIT")));
    // no-store: neither served nor stored.
    let (p, _) = plugin(json!({}));
    let l = layer(&p, json!({}));
    let fresh = Origin::ok("y");
    get_with(&l, &fresh, "/a", &[("cache-control", "no-store")]).await;
    get(&l, &fresh, "/a").await;
    assert_eq!(fresh.calls(), 2);
}

#[tokio::test]
async fn authorized_requests_only_share_public_replies() {
    let (p, _) = plugin(json!({}));
    let l = layer(&p, json!({}));
    let origin = Origin::ok("mine");
    let auth = [("authorization", "Bearer a")];
    get_with(&l, &origin, "/me", &auth).await;
    get_with(&l, &origin, "/me", &auth).await;
    assert_eq!(origin.calls(), 2, "a private answer is not stored");
    get(&l, &origin, "/me").await;
    let r = get_with(&l, &origin, "/me", &auth).await;
    assert_eq!(
        (origin.calls(), x_cache(&r)),
        (4, Some("MISS")),
        "nor served to Authorization"
    );
    let public = Origin::ok("all").with("cache-control", "public");
    get_with(&l, &public, "/pub", &auth).await;
    let r = get_with(&l, &public, "/pub", &[("authorization", "Bearer b")]).await;
    assert_eq!((public.calls(), x_cache(&r)), (1, Some("HIT")));
}

#[tokio::test]
async fn vary_keeps_one_variant_per_request_header_value() {
    let (p, _) = plugin(json!({}));
    let l = layer(&p, json!({}));
    let origin = Origin::ok("gz").with("vary", "Accept-Encoding");
    get_with(&l, &origin, "/a", &[("accept-encoding", "gzip")]).await;
    let r = get_with(&l, &origin, "/a", &[("accept-encoding", "gzip")]).await;
    assert_eq!(x_cache(&r), Some("HIT"));
    let r = get_with(&l, &origin, "/a", &[]).await;
    assert_eq!((origin.calls(), x_cache(&r)), (2, Some("MISS")));
}

#[tokio::test]
async fn head_uses_the_get_entry_and_other_methods_pass_through() {
    let (p, _) = plugin(json!({}));
    let l = layer(&p, json!({}));
    let origin = Origin::ok("x");
    send(&l, &origin, Method::HEAD, "/a", &[]).await;
    send(&l, &origin, Method::HEAD, "/a", &[]).await;
    assert_eq!(origin.calls(), 2, "HEAD replies are not stored");
    get(&l, &origin, "/a").await;
    let r = send(&l, &origin, Method::HEAD, "/a", &[]).await;
    assert_eq!((origin.calls(), x_cache(&r)), (3, Some("HIT")));
    let r = send(&l, &origin, Method::POST, "/a", &[]).await;
    assert_eq!((origin.calls(), x_cache(&r)), (4, None));
}

// More cases: client Cache-Control, method calls, options, Redis.
mod more;
