use std::io::Read;

use hyper::header::{HeaderName, VARY};
use hyper::Method;
use serde_json::json;

use super::*;
use crate::kernel::Classify;
use crate::kernel::TestRequest;

/// A JSON array big and repetitive enough to compress well.
fn big_json() -> String {
    let items: Vec<_> = (0..200)
        .map(|i| json!({ "id": i, "name": format!("user {i}"), "active": i % 2 == 0 }))
        .collect();
    serde_json::to_string(&items).unwrap()
}

fn reply(status: u16, content_type: &str, body: &[u8], extra: &[(&str, &str)]) -> Reply {
    let mut r = Reply::empty(StatusCode::from_u16(status).unwrap());
    if !content_type.is_empty() {
        r.headers
            .insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    }
    for (k, v) in extra {
        r.headers.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    r.body = Bytes::copy_from_slice(body);
    r
}

/// Runs the layer for `options` over `reply` for a request with `accept` as
/// its `Accept-Encoding` (None: no header).
fn run(options: Value, accept: Option<&str>, mut reply: Reply) -> Reply {
    let plugin = create(&options).unwrap();
    let layer = plugin.layer(&options).unwrap().unwrap();
    let mut request = TestRequest::new(Method::GET, "/x");
    if let Some(a) = accept {
        request
            .headers
            .insert(ACCEPT_ENCODING, HeaderValue::from_str(a).unwrap());
    }
    layer.after(&request.ctx(), &mut reply);
    reply
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(b, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

const JSON: &str = "application/json; charset=utf-8";

#[test]
fn gzip_round_trips_and_sets_headers() {
    let body = big_json();
    let len = body.len().to_string();
    let extra = [("content-length", len.as_str()), ("etag", "\"v1\"")];
    let r = run(
        json!({}),
        Some("gzip"),
        reply(200, JSON, body.as_bytes(), &extra),
    );
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    assert_eq!(header(&r, "content-length"), None);
    assert_eq!(header(&r, "vary"), Some("Accept-Encoding"));
    assert_eq!(header(&r, "etag"), Some("W/\"v1\""));
    assert!(r.body.len() < body.len() / 3);
    assert_eq!(gunzip(&r.body), body.as_bytes());
}

#[test]
fn brotli_round_trips_and_is_preferred() {
    let body = big_json();
    let r = run(
        json!({}),
        Some("gzip, deflate, br"),
        reply(200, JSON, body.as_bytes(), &[]),
    );
    assert_eq!(header(&r, "content-encoding"), Some("br"));
    assert!(r.body.len() < body.len() / 3);
    assert_eq!(unbrotli(&r.body), body.as_bytes());
}

#[test]
fn every_level_round_trips() {
    let body = big_json();
    for level in 1..=9 {
        for enc in ["gzip", "br"] {
            let opts = json!({ "level": level, "encodings": [enc] });
            let r = run(
                opts,
                Some("gzip, br"),
                reply(200, JSON, body.as_bytes(), &[]),
            );
            assert_eq!(header(&r, "content-encoding"), Some(enc));
            let plain = if enc == "gzip" {
                gunzip(&r.body)
            } else {
                unbrotli(&r.body)
            };
            assert_eq!(plain, body.as_bytes(), "{enc} level {level}");
        }
    }
}

#[test]
fn server_order_and_client_q_values() {
    let body = big_json();
    let gzip_first = json!({ "encodings": ["gzip", "br"] });
    let r = run(
        gzip_first,
        Some("br, gzip"),
        reply(200, JSON, body.as_bytes(), &[]),
    );
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    let r = run(
        json!({}),
        Some("br;q=0, gzip"),
        reply(200, JSON, body.as_bytes(), &[]),
    );
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    let r = run(
        json!({ "encodings": ["br"] }),
        Some("gzip"),
        reply(200, JSON, body.as_bytes(), &[]),
    );
    assert_eq!(header(&r, "content-encoding"), None);
    assert_eq!(header(&r, "vary"), Some("Accept-Encoding"));
}

#[test]
fn ineligible_answers_are_left_alone() {
    let body = big_json();
    let b = body.as_bytes();
    let cases = [
        (
            "under threshold",
            json!({ "threshold": b.len() + 1 }),
            reply(200, JSON, b, &[]),
        ),
        ("204", json!({}), reply(204, JSON, b, &[])),
        ("304", json!({}), reply(304, JSON, b, &[])),
        ("206", json!({}), reply(206, JSON, b, &[])),
        ("png", json!({}), reply(200, "image/png", b, &[])),
        ("no type", json!({}), reply(200, "", b, &[])),
        (
            "encoded",
            json!({}),
            reply(200, JSON, b, &[("content-encoding", "identity")]),
        ),
        (
            "no-transform",
            json!({}),
            reply(200, JSON, b, &[("cache-control", "public, No-Transform")]),
        ),
        (
            "empty",
            json!({ "threshold": 0 }),
            reply(200, JSON, b"", &[]),
        ),
    ];
    for (what, opts, original) in cases {
        let r = run(opts, Some("gzip, br"), original.clone());
        assert_eq!(r, original, "{what}");
    }
}

#[test]
fn at_threshold_is_compressed() {
    let body = "a".repeat(64);
    let r = run(
        json!({ "threshold": 64 }),
        Some("gzip"),
        reply(200, "text/plain", body.as_bytes(), &[]),
    );
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&r.body), body.as_bytes());
}

#[test]
fn no_accept_encoding_gets_vary_but_no_compression() {
    let body = big_json();
    let original = reply(200, JSON, body.as_bytes(), &[("vary", "Origin")]);
    for accept in [None, Some(""), Some("identity"), Some("*;q=0")] {
        let r = run(json!({}), accept, original.clone());
        assert_eq!(r.body, original.body, "{accept:?}");
        assert_eq!(header(&r, "content-encoding"), None);
        let vary: Vec<_> = r.headers.get_all(VARY).iter().collect();
        assert_eq!(vary, ["Origin", "Accept-Encoding"]);
    }
}

#[test]
fn incompressible_bodies_are_sent_as_they_are() {
    // Pseudo-random bytes (xorshift) labelled as text do not shrink.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for enc in ["gzip", "br"] {
        let original = reply(200, "text/plain", &noise, &[]);
        let r = run(json!({}), Some(enc), original.clone());
        assert_eq!(r.body, original.body, "{enc}");
        assert_eq!(header(&r, "content-encoding"), None);
    }
}

#[test]
fn weak_etags_stay_as_they_are() {
    let body = big_json();
    let r = run(
        json!({}),
        Some("gzip"),
        reply(200, JSON, body.as_bytes(), &[("etag", "W/\"x\"")]),
    );
    assert_eq!(header(&r, "etag"), Some("W/\"x\""));
}

#[test]
fn invalid_options_name_the_option() {
    let cases = [
        (json!({ "threshold": -1 }), "threshold"),
        (json!({ "threshold": 1.5 }), "threshold"),
        (json!({ "threshold": "1k" }), "threshold"),
        (json!({ "encodings": [] }), "encodings must not be empty"),
        (json!({ "encodings": "gzip" }), "encodings must be an array"),
        (json!({ "encodings": ["deflate"] }), "encodings[0]"),
        (
            json!({ "encodings": ["gzip", "gzip"] }),
            "encodings[1] repeats",
        ),
        (json!({ "level": 0 }), "level"),
        (json!({ "level": 10 }), "level"),
        (json!({ "level": "max" }), "level"),
        (json!({ "treshold": 5 }), "unknown option \"treshold\""),
        (json!(5), "options must be an object"),
    ];
    for (options, want) in cases {
        let err = create(&options).err().unwrap();
        assert!(err.is_bad_input(), "{err}");
        let err = err.to_string();
        assert!(err.starts_with("compression: "), "{err}");
        assert!(err.contains(want), "{options}: {err} lacks {want}");
    }
}

#[test]
fn layers_reuse_the_plugin_default() {
    let opts = json!({ "threshold": 10 });
    let plugin = create(&opts).unwrap();
    let a = plugin.layer(&opts).unwrap().unwrap();
    let b = plugin.layer(&opts).unwrap().unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(plugin.layer(&json!({ "level": 11 })).is_err());
}
