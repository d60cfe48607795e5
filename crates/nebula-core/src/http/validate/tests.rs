use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::HeaderMap;
use serde_json::{json, Value};

use super::coerce::Plan;
use super::*;

fn validator(schemas: Value) -> RouteValidator {
    RouteValidator::compile(&schemas)
        .expect("the schemas compile")
        .expect("some part has a schema")
}

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h
}

fn check(
    v: &RouteValidator,
    target: &str,
    params: &[(&str, &str)],
    headers: &HeaderMap,
    body: &str,
) -> Result<Value, Vec<Violation>> {
    let params: Vec<(Arc<str>, String)> = params
        .iter()
        .map(|(k, v)| (Arc::from(*k), (*v).to_owned()))
        .collect();
    let body = Bytes::copy_from_slice(body.as_bytes());
    v.check(&Request {
        target,
        params: &params,
        headers,
        body: &body,
    })
    .map(|valid| {
        valid.map_or(Value::Null, |text| {
            serde_json::from_str(&text).expect("valid JSON")
        })
    })
}

fn listed(violations: &[Violation]) -> Vec<(&'static str, &str)> {
    violations
        .iter()
        .map(|v| (v.part.name(), v.path.as_str()))
        .collect()
}

#[test]
fn query_strings_become_the_declared_types() {
    let plan = Plan::new(
        &json!({ "properties": {
            "n": { "type": "integer" }, "x": { "type": "number" }, "b": { "type": "boolean" },
            "s": { "type": "string" }, "free": {}, "maybe": { "type": ["integer", "null"] },
            "either": { "anyOf": [{ "type": "boolean" }, { "type": "integer" }] },
            "tags": { "type": "array", "items": { "type": "integer" } },
            "page": { "type": "integer", "default": 1 }
        }}),
        false,
    );
    let got = plan.object([
        ("n", "5"),
        ("x", "2.5"),
        ("b", "true"),
        ("s", "7"),
        ("free", "8"),
        ("maybe", "null"),
        ("either", "3"),
        ("tags", "1"),
        ("tags", "2"),
        ("other", "a"),
        ("other", "b"),
    ]);
    assert_eq!(
        got,
        json!({ "n": 5, "x": 2.5, "b": true, "s": "7", "free": "8", "maybe": null, "either": 3,
                "tags": [1, 2], "other": ["a", "b"], "page": 1 })
    );
}

#[test]
fn a_single_value_of_an_array_property_is_an_array_and_a_bad_string_stays_a_string() {
    let plan = Plan::new(
        &json!({ "properties": { "tags": { "type": "array", "items": { "type": "integer" } }, "n": { "type": "integer" } } }),
        false,
    );
    assert_eq!(
        plan.object([("tags", "4"), ("n", "five")]),
        json!({ "tags": [4], "n": "five" })
    );
}

#[test]
fn every_violation_is_listed_with_its_part_and_pointer() {
    let v = validator(json!({
        "body": { "type": "object", "required": ["name"], "properties": {
            "name": { "type": "string" }, "age": { "type": "integer", "minimum": 0 } } },
        "query": { "type": "object", "properties": { "n": { "type": "integer", "maximum": 10 } } },
        "params": { "type": "object", "properties": { "id": { "type": "integer" } } }
    }));
    let err = check(
        &v,
        "/u/x?n=50",
        &[("id", "x")],
        &json_headers(),
        r#"{"age":-1}"#,
    )
    .unwrap_err();
    let mut got = listed(&err);
    got.sort();
    assert_eq!(
        got,
        [
            ("body", ""),
            ("body", "/age"),
            ("params", "/id"),
            ("query", "/n")
        ]
    );
    let reply = refusal(&err);
    assert_eq!(reply.status, 400);
    let body: Value = serde_json::from_slice(&reply.body).expect("JSON body");
    assert_eq!(body["error"], "Bad Request");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(4));
    assert!(body["errors"][0]["message"].is_string());
}

#[test]
fn a_valid_request_hands_over_the_coerced_values() {
    let v = validator(json!({
        "body": { "type": "object" },
        "query": { "type": "object", "properties": { "n": { "type": "integer" } } },
        "params": { "type": "object", "properties": { "id": { "type": "integer" } } },
        "headers": { "type": "object", "required": ["X-Count"], "properties": { "X-Count": { "type": "integer" } } }
    }));
    let mut headers = json_headers();
    headers.insert("x-count", HeaderValue::from_static("3"));
    let got = check(&v, "/u/7?n=5&q=a+b%21", &[("id", "7")], &headers, "{}").expect("valid");
    assert_eq!(got["query"], json!({ "n": 5, "q": "a b!" }));
    assert_eq!(got["param"], json!({ "id": 7 }));
    assert_eq!(got["header"]["x-count"], 3);
    assert!(
        got.get("json").is_none(),
        "the body is read by JavaScript itself"
    );
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    let v = validator(json!({ "body": { "type": "object" } }));
    let mut text = HeaderMap::new();
    text.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    for (headers, body) in [
        (json_headers(), "{nope"),
        (json_headers(), ""),
        (text, "{}"),
        (HeaderMap::new(), "{}"),
    ] {
        let err = check(&v, "/", &[], &headers, body).unwrap_err();
        assert_eq!(listed(&err), [("body", "")], "{body:?}");
    }
    let mut vendor = HeaderMap::new();
    vendor.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.api+json; charset=utf-8"),
    );
    assert!(check(&v, "/", &[], &vendor, "{}").is_ok());
}

#[test]
fn only_a_body_schema_hands_nothing_over() {
    let v = validator(json!({ "body": true }));
    assert_eq!(check(&v, "/", &[], &json_headers(), "1"), Ok(Value::Null));
}

#[test]
fn bad_schemas_are_refused_with_the_part_named() {
    let err = RouteValidator::compile(&json!({ "query": { "type": "nope" } })).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("validate.query: not a valid JSON Schema"),
        "{err}"
    );
    let err = RouteValidator::compile(&json!({ "cookies": {} })).unwrap_err();
    assert!(
        err.to_string().contains("unknown part \"cookies\""),
        "{err}"
    );
    let err = RouteValidator::compile(&json!({ "body": 3 })).unwrap_err();
    assert!(err.to_string().starts_with("validate.body:"), "{err}");
    assert!(RouteValidator::compile(&json!({}))
        .expect("nothing to compile")
        .is_none());
}

#[test]
fn many_violations_are_capped_in_the_reply() {
    let v = validator(json!({ "body": { "type": "array", "items": { "type": "string" } } }));
    let body = serde_json::to_string(&vec![1; MAX_LISTED + 5]).expect("JSON");
    let err = check(&v, "/", &[], &json_headers(), &body).unwrap_err();
    assert_eq!(err.len(), MAX_LISTED + 5);
    let reply = refusal(&err);
    let body: Value = serde_json::from_slice(&reply.body).expect("JSON body");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(MAX_LISTED));
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("105 violations")));
}
