use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::kernel::stats::StatsSnapshot;
use crate::kernel::TestRequest;

const STATS: StatsSnapshot = StatsSnapshot {
    requests: 9,
    js_calls: 4,
    in_flight: 1,
};

/// Runs `layer` over one request to `route` that took about `took`.
fn answer(layer: &dyn NativeLayer, method: Method, route: &str, status: u16, took: Duration) {
    let mut request = TestRequest::new(method, route);
    request.started = Instant::now() - took;
    let mut ctx = request.ctx();
    assert!(matches!(
        layer.before(&mut ctx),
        crate::kernel::Flow::Continue
    ));
    let mut reply = Reply::empty(StatusCode::from_u16(status).unwrap());
    layer.after(&ctx, &mut reply);
}

#[test]
fn exposition_snapshot() {
    let plugin =
        MetricsPlugin::new(&json!({ "buckets": [0.01, 0.1, 2.5], "prefix": "app_" })).unwrap();
    let r = &plugin.registry;
    let users = r.series(&Method::GET, "/users/:id").unwrap();
    users.observe(&r.bounds, 200, Duration::from_millis(5));
    users.observe(&r.bounds, 200, Duration::from_millis(50));
    users.observe(&r.bounds, 404, Duration::from_millis(3000));
    let post = r.series(&Method::POST, "/a\"b\\c\nd").unwrap();
    post.observe(&r.bounds, 201, Duration::from_millis(10));
    let expected = r#"# HELP app_http_requests_total HTTP requests answered by route handlers, by method, route and status.
# TYPE app_http_requests_total counter
app_http_requests_total{method="POST",route="/a\"b\\c\nd",status="201"} 1
app_http_requests_total{method="GET",route="/users/:id",status="200"} 2
app_http_requests_total{method="GET",route="/users/:id",status="404"} 1
# HELP app_http_request_duration_seconds Time from receiving a request to having its answer, by method and route.
# TYPE app_http_request_duration_seconds histogram
app_http_request_duration_seconds_bucket{method="POST",route="/a\"b\\c\nd",le="0.01"} 1
app_http_request_duration_seconds_bucket{method="POST",route="/a\"b\\c\nd",le="0.1"} 1
app_http_request_duration_seconds_bucket{method="POST",route="/a\"b\\c\nd",le="2.5"} 1
app_http_request_duration_seconds_bucket{method="POST",route="/a\"b\\c\nd",le="+Inf"} 1
app_http_request_duration_seconds_sum{method="POST",route="/a\"b\\c\nd"} 0.01
app_http_request_duration_seconds_count{method="POST",route="/a\"b\\c\nd"} 1
app_http_request_duration_seconds_bucket{method="GET",route="/users/:id",le="0.01"} 1
app_http_request_duration_seconds_bucket{method="GET",route="/users/:id",le="0.1"} 2
app_http_request_duration_seconds_bucket{method="GET",route="/users/:id",le="2.5"} 2
app_http_request_duration_seconds_bucket{method="GET",route="/users/:id",le="+Inf"} 3
app_http_request_duration_seconds_sum{method="GET",route="/users/:id"} 3.055
app_http_request_duration_seconds_count{method="GET",route="/users/:id"} 3
# HELP app_requests_in_flight Requests being handled now.
# TYPE app_requests_in_flight gauge
app_requests_in_flight 1
# HELP app_requests_received_total Requests received, including those answered without a route handler.
# TYPE app_requests_received_total counter
app_requests_received_total 9
# HELP app_js_calls_total Calls from Rust into JavaScript handlers.
# TYPE app_js_calls_total counter
app_js_calls_total 4
"#;
    assert_eq!(plugin.render(&STATS), expected);
}

#[test]
fn default_buckets_and_an_empty_registry() {
    let plugin = MetricsPlugin::new(&json!({})).unwrap();
    let text = plugin.render(&STATS);
    assert!(text.contains("# TYPE nebula_http_requests_total counter\n"));
    assert!(text.contains("# TYPE nebula_http_request_duration_seconds histogram\n"));
    assert!(text.contains("\nnebula_js_calls_total 4\n"));
    assert!(text.contains("\nnebula_requests_in_flight 1\n"));
    let layer = plugin.layer(&json!({})).unwrap().unwrap();
    answer(&*layer, Method::GET, "/x", 200, Duration::ZERO);
    let text = plugin.render(&STATS);
    let les: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("nebula_http_request_duration_seconds_bucket"))
        .map(|l| l.split("le=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(
        les,
        [
            "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
            "+Inf"
        ]
    );
}

/// Every sample line of `text`: `name{labels} value` or `name value`.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn the_layer_records_each_answer_in_its_series() {
    let plugin = MetricsPlugin::new(&json!({ "buckets": [0.05, 1] })).unwrap();
    let layer = plugin.layer(&json!({ "metrics": true })).unwrap().unwrap();
    answer(
        &*layer,
        Method::GET,
        "/users/:id",
        200,
        Duration::from_millis(1),
    );
    answer(
        &*layer,
        Method::GET,
        "/users/:id",
        200,
        Duration::from_millis(100),
    );
    answer(
        &*layer,
        Method::GET,
        "/users/:id",
        500,
        Duration::from_millis(1),
    );
    // The same handler on a second path and method.
    answer(
        &*layer,
        Method::HEAD,
        "/people/:id",
        200,
        Duration::from_millis(1),
    );
    let other = plugin.layer(&json!({})).unwrap().unwrap();
    answer(
        &*other,
        Method::GET,
        "/users/:id",
        404,
        Duration::from_millis(1),
    );
    let all = samples(&plugin.render(&STATS));
    let get = |s: &str| all.iter().find(|(k, _)| k == s).map(|(_, v)| *v);
    let m = "method=\"GET\",route=\"/users/:id\"";
    assert_eq!(
        get(&format!("nebula_http_requests_total{{{m},status=\"200\"}}")),
        Some(2.0)
    );
    assert_eq!(
        get(&format!("nebula_http_requests_total{{{m},status=\"500\"}}")),
        Some(1.0)
    );
    assert_eq!(
        get(&format!("nebula_http_requests_total{{{m},status=\"404\"}}")),
        Some(1.0)
    );
    assert_eq!(
        get(&format!(
            "nebula_http_request_duration_seconds_bucket{{{m},le=\"0.05\"}}"
        )),
        Some(3.0)
    );
    assert_eq!(
        get(&format!(
            "nebula_http_request_duration_seconds_bucket{{{m},le=\"1\"}}"
        )),
        Some(4.0)
    );
    assert_eq!(
        get(&format!(
            "nebula_http_request_duration_seconds_count{{{m}}}"
        )),
        Some(4.0)
    );
    let sum = get(&format!("nebula_http_request_duration_seconds_sum{{{m}}}")).unwrap();
    assert!((0.103..1.0).contains(&sum), "{sum}");
    let h = "method=\"HEAD\",route=\"/people/:id\"";
    assert_eq!(
        get(&format!("nebula_http_requests_total{{{h},status=\"200\"}}")),
        Some(1.0)
    );
}

#[test]
fn metrics_false_skips_the_handler() {
    let plugin = MetricsPlugin::new(&json!(null)).unwrap();
    assert!(plugin
        .layer(&json!({ "metrics": false }))
        .unwrap()
        .is_none());
    let err = plugin.layer(&json!({ "metrics": "no" })).err().unwrap();
    assert!(err.to_string().contains("metrics"), "{err}");
}

#[test]
fn the_endpoint_answers_get_path_with_the_exposition() {
    let plugin = MetricsPlugin::new(&json!({ "path": "/_/prom" })).unwrap();
    let eps = plugin.endpoints();
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].method, Method::GET);
    assert_eq!(eps[0].path, "/_/prom");
    let extra = |out: &mut String| out.push_str("hub_extra 1\n");
    let ctx = crate::kernel::EndpointCtx {
        stats: STATS,
        extra_metrics: &extra,
    };
    let reply = (eps[0].handler)(&ctx);
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get(CONTENT_TYPE).unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let body = std::str::from_utf8(&reply.body).unwrap();
    assert!(body.contains("\nnebula_js_calls_total 4\n"));
    assert!(
        body.ends_with("\nhub_extra 1\n"),
        "components add to the exposition"
    );
    assert!(body.contains("\nnebula_requests_in_flight 1\n"));
}

#[test]
fn invalid_options_name_the_option() {
    let bad = [
        (json!({ "path": "metrics" }), "path"),
        (json!({ "path": "/a b" }), "path"),
        (json!({ "path": 1 }), "path"),
        (json!({ "prefix": "1abc" }), "prefix"),
        (json!({ "prefix": "a-b" }), "prefix"),
        (json!({ "buckets": [] }), "buckets"),
        (json!({ "buckets": [1, 1] }), "buckets"),
        (json!({ "buckets": [2, 1] }), "buckets"),
        (json!({ "buckets": ["1"] }), "buckets"),
        (json!({ "buckets": 1 }), "buckets"),
        (
            json!({ "buckets": vec![1; 65].iter().enumerate().map(|(i, _)| i + 1).collect::<Vec<_>>() }),
            "buckets",
        ),
        (json!("x"), "object"),
    ];
    for (options, name) in bad {
        let err = create(&options).err().unwrap();
        assert!(err.to_string().contains(name), "{options}: {err}");
    }
    assert!(create(&json!({ "prefix": "", "buckets": [0.5] })).is_ok());
    assert!(create(&json!({ "prefix": "my:app_2_" })).is_ok());
}
