//! The plugin and its layer, on a clock moved by hand.
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hyper::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;
use crate::kernel::run_layers;
use crate::kernel::Classify;

/// A clock that only moves when told to.
#[derive(Default)]
struct ManualClock(AtomicU64);

impl ManualClock {
    fn advance_ms(&self, ms: u64) {
        self.0.fetch_add(ms * NS_PER_MS, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self, _started: Instant) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn plugin(options: Value) -> (RateLimitPlugin, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let plugin = match RateLimitPlugin::with_clock(&options, clock.clone()) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    (plugin, clock)
}

fn layer(plugin: &RateLimitPlugin, options: Value) -> Arc<dyn NativeLayer> {
    match plugin.layer(&options) {
        Ok(Some(l)) => l,
        other => panic!("no layer: {:?}", other.err()),
    }
}

/// One request's parts.
#[derive(Default)]
struct Req {
    headers: HeaderMap,
    peer: Option<IpAddr>,
    locals: Vec<(String, Value)>,
}

impl Req {
    fn from(ip: &str) -> Req {
        Req {
            peer: ip.parse().ok(),
            ..Req::default()
        }
    }
    fn header(mut self, name: &'static str, value: &'static str) -> Req {
        self.headers.insert(name, HeaderValue::from_static(value));
        self
    }
}

/// Runs `layers` around a handler that answers 200 and counts its calls.
/// The status `send` answers with, for a request built in place.
fn status(layers: &[Arc<dyn NativeLayer>], mut req: Req, calls: &AtomicU64) -> StatusCode {
    send(layers, &mut req, calls).status
}

fn send(layers: &[Arc<dyn NativeLayer>], req: &mut Req, calls: &AtomicU64) -> Reply {
    let method = Method::GET;
    let mut scratch = hyper::http::Extensions::new();
    let mut ctx = LayerCtx {
        method: &method,
        path: "/x",
        target: "/x",
        route: "/x",
        params: &[],
        headers: &req.headers,
        peer: req.peer,
        started: Instant::now(),
        locals: &mut req.locals,
        scratch: &mut scratch,
    };
    let fut = run_layers(layers, &mut ctx, |_| async {
        calls.fetch_add(1, Ordering::SeqCst);
        Reply::json(StatusCode::OK, "{}".into())
    });
    futures_util::FutureExt::now_or_never(fut)
        .unwrap_or_else(|| Reply::empty(StatusCode::IM_A_TEAPOT))
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("<none>")
}

#[test]
fn allows_max_then_answers_429_without_calling_the_handler() {
    let (p, _) = plugin(json!({ "maxRequests": 2, "windowMs": 10_000 }));
    let l = [layer(&p, json!({}))];
    let calls = AtomicU64::new(0);
    let mut req = Req::from("10.0.0.1");
    let first = send(&l, &mut req, &calls);
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(header(&first, "ratelimit-limit"), "2");
    assert_eq!(header(&first, "ratelimit-remaining"), "1");
    assert_eq!(header(&first, "ratelimit-reset"), "5");
    let second = send(&l, &mut req, &calls);
    assert_eq!(header(&second, "ratelimit-remaining"), "0");
    let third = send(&l, &mut req, &calls);
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(header(&third, "retry-after"), "5");
    assert_eq!(header(&third, "ratelimit-remaining"), "0");
    assert_eq!(header(&third, "ratelimit-reset"), "5");
    assert_eq!(
        header(&third, "content-type"),
        "application/json; charset=utf-8"
    );
    let body: Value = serde_json::from_slice(&third.body).unwrap_or_default();
    assert_eq!(
        body,
        json!({ "error": "Too Many Requests", "message": "rate limit exceeded: 2 requests per 10000 ms" })
    );
}

#[test]
fn time_frees_slots() {
    let (p, clock) = plugin(json!({ "maxRequests": 2, "windowMs": 1000 }));
    let l = [layer(&p, json!({}))];
    let calls = AtomicU64::new(0);
    let mut req = Req::from("10.0.0.1");
    send(&l, &mut req, &calls);
    send(&l, &mut req, &calls);
    clock.advance_ms(499);
    let r = send(&l, &mut req, &calls);
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Less than a second to wait still says 1.
    assert_eq!(header(&r, "retry-after"), "1");
    clock.advance_ms(1);
    assert_eq!(send(&l, &mut req, &calls).status, StatusCode::OK);
    clock.advance_ms(1000);
    let r = send(&l, &mut req, &calls);
    assert_eq!(header(&r, "ratelimit-remaining"), "1");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[test]
fn clients_are_counted_apart() {
    let (p, _) = plugin(json!({ "maxRequests": 1 }));
    let l = [layer(&p, json!({}))];
    let calls = AtomicU64::new(0);
    assert_eq!(status(&l, Req::from("10.0.0.1"), &calls), StatusCode::OK);
    assert_eq!(
        status(&l, Req::from("10.0.0.1"), &calls),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(status(&l, Req::from("10.0.0.2"), &calls), StatusCode::OK);
    assert_eq!(status(&l, Req::default(), &calls), StatusCode::OK);
    assert_eq!(
        status(&l, Req::default(), &calls),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[test]
fn header_key_with_address_fallback() {
    let (p, _) = plugin(json!({ "maxRequests": 1, "key": { "header": "X-Api-Key" } }));
    let l = [layer(&p, json!({}))];
    let calls = AtomicU64::new(0);
    let ok = StatusCode::OK;
    let no = StatusCode::TOO_MANY_REQUESTS;
    let a = || Req::from("10.0.0.1").header("x-api-key", "a");
    assert_eq!(status(&l, a(), &calls), ok);
    assert_eq!(status(&l, a(), &calls), no);
    // Same address, other key: its own quota.
    assert_eq!(
        status(&l, Req::from("10.0.0.1").header("x-api-key", "b"), &calls),
        ok
    );
    // No key: counted by address, apart from the header keys.
    assert_eq!(status(&l, Req::from("10.0.0.1"), &calls), ok);
    assert_eq!(
        status(&l, Req::from("10.0.0.1").header("x-api-key", ""), &calls),
        no
    );
}

#[test]
fn claim_key_reads_the_user_local() {
    let (p, _) = plugin(json!({ "maxRequests": 1, "key": { "claim": "sub" } }));
    let l = [layer(&p, json!({}))];
    let calls = AtomicU64::new(0);
    let user = |sub: &str| Req {
        peer: "10.0.0.1".parse().ok(),
        locals: vec![("user".into(), json!({ "sub": sub }))],
        ..Req::default()
    };
    assert_eq!(status(&l, user("alice"), &calls), StatusCode::OK);
    assert_eq!(
        status(&l, user("alice"), &calls),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(status(&l, user("bob"), &calls), StatusCode::OK);
    assert_eq!(status(&l, Req::from("10.0.0.1"), &calls), StatusCode::OK);
    assert_eq!(
        status(&l, Req::from("10.0.0.1"), &calls),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[test]
fn scopes_share_or_separate_counters() {
    let (p, _) = plugin(json!({ "maxRequests": 1 }));
    let calls = AtomicU64::new(0);
    let global_a = [layer(&p, json!({}))];
    let global_b = [layer(&p, json!({ "scope": "global" }))];
    let module_a = [layer(
        &p,
        json!({ "scope": "module:m", "rateLimitMaxRequests": 2 }),
    )];
    let module_b = [layer(
        &p,
        json!({ "scope": "module:m", "rateLimitMaxRequests": 2 }),
    )];
    let ip = || Req::from("10.0.0.1");
    assert_eq!(send(&global_a, &mut ip(), &calls).status, StatusCode::OK);
    assert_eq!(
        send(&global_b, &mut ip(), &calls).status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(send(&module_a, &mut ip(), &calls).status, StatusCode::OK);
    assert_eq!(send(&module_b, &mut ip(), &calls).status, StatusCode::OK);
    let r = send(&module_a, &mut ip(), &calls);
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "ratelimit-limit"), "2");
    // Same scope, another limit: other counters.
    let other = [layer(
        &p,
        json!({ "scope": "module:m", "rateLimitMaxRequests": 3 }),
    )];
    assert_eq!(send(&other, &mut ip(), &calls).status, StatusCode::OK);
}

#[test]
fn route_and_module_spellings_win_over_plugin_ones() {
    let (p, clock) = plugin(json!({ "maxRequests": 5, "windowMs": 1000 }));
    let l = [layer(
        &p,
        json!({ "maxRequests": 9, "rateLimitMaxRequests": 1, "rateLimitWindowMs": 60_000 }),
    )];
    let calls = AtomicU64::new(0);
    send(&l, &mut Req::default(), &calls);
    clock.advance_ms(30_000);
    let r = send(&l, &mut Req::default(), &calls);
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "retry-after"), "30");
}

#[test]
fn headers_go_on_answers_from_inner_layers_too() {
    struct Refuse;
    impl NativeLayer for Refuse {
        fn name(&self) -> &'static str {
            "refuse"
        }
        fn before(&self, _: &mut LayerCtx<'_>) -> Flow {
            Flow::Respond(Reply::error(StatusCode::UNAUTHORIZED, "no"))
        }
    }
    let (p, _) = plugin(json!({}));
    let l: [Arc<dyn NativeLayer>; 2] = [layer(&p, json!({})), Arc::new(Refuse)];
    let calls = AtomicU64::new(0);
    let r = send(&l, &mut Req::default(), &calls);
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "ratelimit-remaining"), "99");
    assert_eq!(header(&r, "ratelimit-reset"), "1");
    assert_eq!(r.headers.get(RETRY_AFTER), None);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn rate_limit_false_means_no_layer() {
    let (p, _) = plugin(json!({}));
    assert!(matches!(p.layer(&json!({ "rateLimit": false })), Ok(None)));
    assert!(matches!(
        p.layer(&json!({ "rateLimit": true })),
        Ok(Some(_))
    ));
    assert!(matches!(p.layer(&Value::Null), Ok(Some(_))));
}

#[test]
fn invalid_options_name_the_option() {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::default());
    for (options, name) in [
        (json!({ "maxRequests": 0 }), "maxRequests"),
        (json!({ "maxRequests": -1 }), "maxRequests"),
        (json!({ "maxRequests": 1.5 }), "maxRequests"),
        (json!({ "maxRequests": "10" }), "maxRequests"),
        (json!({ "maxRequests": 2_000_000_000u64 }), "maxRequests"),
        (
            json!({ "maxRequests": 2_000_000, "windowMs": 1 }),
            "maxRequests",
        ),
        (json!({ "windowMs": 0 }), "windowMs"),
        (json!({ "windowMs": 5_000_000_000u64 }), "windowMs"),
        (json!({ "maxKeys": 0 }), "maxKeys"),
        (json!({ "key": "header" }), "key"),
        (json!([]), "options"),
    ] {
        match RateLimitPlugin::with_clock(&options, clock.clone()) {
            Ok(_) => panic!("{options} accepted"),
            Err(e) => {
                assert!(e.is_bad_input(), "{options}: {e}");
                assert!(e.to_string().contains(name), "{options}: {e}");
            }
        }
    }
    let (p, _) = plugin(json!({}));
    for (options, name) in [
        (json!({ "rateLimitMaxRequests": 0 }), "rateLimitMaxRequests"),
        (json!({ "rateLimitWindowMs": "1s" }), "rateLimitWindowMs"),
        (
            json!({ "rateLimitMaxRequests": 5_000_000, "rateLimitWindowMs": 1 }),
            "rateLimitMaxRequests",
        ),
        (json!({ "windowMs": -5 }), "windowMs"),
        (json!({ "rateLimit": "off" }), "rateLimit"),
        (json!({ "scope": 3 }), "scope"),
        (json!("x"), "options"),
    ] {
        match p.layer(&options) {
            Ok(_) => panic!("{options} accepted"),
            Err(e) => {
                assert!(e.is_bad_input(), "{options}: {e}");
                assert!(e.to_string().contains(name), "{options}: {e}");
            }
        }
    }
}

#[test]
fn whole_floats_are_integers() {
    let (p, _) = plugin(json!({ "maxRequests": 3.0, "windowMs": 1000.0, "maxKeys": 10.0 }));
    let l = [layer(&p, json!({ "rateLimitMaxRequests": 1.0 }))];
    let calls = AtomicU64::new(0);
    send(&l, &mut Req::default(), &calls);
    assert_eq!(
        status(&l, Req::default(), &calls),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[test]
fn create_uses_the_real_clock() {
    let p = match create(&json!({ "maxRequests": 1, "windowMs": 60_000 })) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let l = [match p.layer(&json!({})) {
        Ok(Some(l)) => l,
        _ => panic!("no layer"),
    }];
    let calls = AtomicU64::new(0);
    assert_eq!(status(&l, Req::default(), &calls), StatusCode::OK);
    let r = send(&l, &mut Req::default(), &calls);
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&r, "retry-after").parse().unwrap_or(0);
    assert!((59..=60).contains(&retry), "{retry}");
    assert!(create(&json!({ "windowMs": 0 })).is_err());
}

#[test]
fn numbers_as_header_values() {
    for n in [0u64, 1, 9, 10, 99, 1023, 1024, 123_456, u64::MAX] {
        assert_eq!(number(n).to_str().ok(), Some(n.to_string().as_str()));
    }
    assert_eq!(seconds(0), 1);
    assert_eq!(seconds(1), 1);
    assert_eq!(seconds(NS_PER_S), 1);
    assert_eq!(seconds(NS_PER_S + 1), 2);
}
