//! A route's schemas checked in the pipeline: a request that does not match
//! is answered 400 in Rust and never handed to the dispatcher; one that
//! matches carries its coerced values.
mod common;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::{Method, Request};
use nebula_core::http::validate::RouteValidator;
use nebula_core::http::{ServerConfig, ServiceBuilder};
use serde_json::json;

fn validated() -> ServiceBuilder {
    let mut b = ServiceBuilder::new(ServerConfig::default());
    b.add_route(&[Method::POST], "/shops/:shop", 0).unwrap();
    let v = RouteValidator::compile(&json!({
        "body": { "type": "object", "required": ["name"] },
        "query": { "type": "object", "properties": { "n": { "type": "integer" } } },
        "params": { "type": "object", "properties": { "shop": { "type": "integer", "minimum": 1 } } }
    }))
    .unwrap()
    .unwrap();
    assert!(b.validate_route(0, v));
    b
}

fn post(uri: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

#[tokio::test]
async fn an_invalid_request_is_answered_400_and_never_dispatched() {
    let (svc, mut rx) = build(validated());
    let res = svc.handle(post("/shops/0?n=x", "{}")).await;
    assert_eq!(res.status(), 400);
    let body = body_json(res).await;
    let mut seen: Vec<String> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["in"].as_str().unwrap(),
                e["path"].as_str().unwrap()
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen, ["body ", "params /shop", "query /n"]);
    assert!(rx.try_recv().is_err(), "nothing was dispatched");
    assert_eq!(svc.stats().js_calls, 0);
}

#[tokio::test]
async fn a_valid_request_carries_its_coerced_values() {
    let (svc, mut rx) = build(validated());
    let (res, js) = tokio::join!(svc.handle(post("/shops/3?n=5", r#"{"name":"a"}"#)), async {
        answer_next(&svc, &mut rx, answer(200, &[], "ok")).await
    });
    assert_eq!(res.status(), 200);
    let valid: serde_json::Value = serde_json::from_str(js.valid.as_deref().unwrap()).unwrap();
    assert_eq!(
        valid,
        json!({ "query": { "n": 5 }, "param": { "shop": 3 } })
    );
    assert_eq!(&js.body[..], br#"{"name":"a"}"#);
}
