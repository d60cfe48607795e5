//! Tests of the upgrade check: the RFC's example key, each refusal.
use hyper::header::HeaderValue;

use super::*;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn request(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

fn good() -> Vec<(&'static str, &'static str)> {
    vec![
        ("host", "example.com"),
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", KEY),
        ("sec-websocket-version", "13"),
    ]
}

fn without(name: &str) -> Vec<(&'static str, &'static str)> {
    good().into_iter().filter(|(n, _)| *n != name).collect()
}

fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut pairs = without(name);
    pairs.push((name, value));
    pairs
}

fn bad_request(result: Result<String, HandshakeError>) -> String {
    match result {
        Err(HandshakeError::BadRequest(msg)) => msg,
        other => panic!("expected BadRequest, got {other:?}"),
    }
}

#[test]
fn rfc_example_key() {
    assert_eq!(accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(
        check(&Method::GET, &request(&good())).unwrap(),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn tokens_are_case_insensitive_lists() {
    let pairs = [
        ("Upgrade", "h2c, WebSocket"),
        ("Connection", "keep-alive, UPGRADE"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ];
    assert!(check(&Method::GET, &request(&pairs)).is_ok());
    // The list may also be split over several header lines.
    let pairs = [
        ("upgrade", "websocket"),
        ("connection", "keep-alive"),
        ("connection", "upgrade"),
        ("sec-websocket-key", KEY),
        ("sec-websocket-version", "13"),
    ];
    assert!(check(&Method::GET, &request(&pairs)).is_ok());
}

#[test]
fn is_upgrade_looks_at_the_upgrade_header_only() {
    assert!(is_upgrade(&request(&[("upgrade", "websocket")])));
    assert!(is_upgrade(&request(&[("upgrade", "foo, WEBSOCKET ")])));
    assert!(!is_upgrade(&request(&[("upgrade", "h2c")])));
    assert!(!is_upgrade(&request(&[("upgrade", "websockets")])));
    assert!(!is_upgrade(&request(&[("connection", "websocket")])));
    assert!(!is_upgrade(&HeaderMap::new()));
}

#[test]
fn method_must_be_get() {
    for method in [Method::POST, Method::HEAD, Method::PUT] {
        let msg = bad_request(check(&method, &request(&good())));
        assert!(msg.contains("GET"), "{msg}");
    }
}

#[test]
fn connection_must_list_upgrade() {
    bad_request(check(&Method::GET, &request(&without("connection"))));
    bad_request(check(
        &Method::GET,
        &request(&with("connection", "keep-alive")),
    ));
    bad_request(check(
        &Method::GET,
        &request(&with("connection", "upgrades")),
    ));
}

#[test]
fn upgrade_must_list_websocket() {
    bad_request(check(&Method::GET, &request(&without("upgrade"))));
    bad_request(check(&Method::GET, &request(&with("upgrade", "h2c"))));
}

#[test]
fn version_must_be_13() {
    for pairs in [
        without("sec-websocket-version"),
        with("sec-websocket-version", "8"),
        with("sec-websocket-version", "13, 8"),
        with("sec-websocket-version", "14"),
    ] {
        let err = check(&Method::GET, &request(&pairs)).unwrap_err();
        assert_eq!(err, HandshakeError::UnsupportedVersion);
        assert_eq!(err.status(), StatusCode::UPGRADE_REQUIRED);
        assert!(err.message().contains("13"));
    }
    let mut pairs = good();
    pairs.push(("sec-websocket-version", "13"));
    assert_eq!(
        check(&Method::GET, &request(&pairs)),
        Err(HandshakeError::UnsupportedVersion)
    );
}

#[test]
fn key_must_be_base64_of_16_bytes() {
    let missing = bad_request(check(&Method::GET, &request(&without("sec-websocket-key"))));
    assert!(missing.contains("missing"), "{missing}");
    // 15 and 17 bytes.
    bad_request(check(
        &Method::GET,
        &request(&with("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAA")),
    ));
    bad_request(check(
        &Method::GET,
        &request(&with("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAAA=")),
    ));
    bad_request(check(
        &Method::GET,
        &request(&with("sec-websocket-key", "not base64 at all!!")),
    ));
    bad_request(check(
        &Method::GET,
        &request(&with("sec-websocket-key", "")),
    ));
    let mut twice = good();
    twice.push(("sec-websocket-key", KEY));
    bad_request(check(&Method::GET, &request(&twice)));
    // A non-ASCII value is refused, not a panic.
    let mut headers = request(&without("sec-websocket-key"));
    headers.insert(
        SEC_WEBSOCKET_KEY,
        HeaderValue::from_bytes(&[0xff, 0xfe]).unwrap(),
    );
    bad_request(check(&Method::GET, &headers));
}

#[test]
fn statuses_and_messages() {
    let err = HandshakeError::BadRequest("nope".into());
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    assert_eq!(err.message(), "nope");
    assert_eq!(err.to_string(), "nope");
    assert_eq!(HandshakeError::UnsupportedVersion.status().as_u16(), 426);
}
