//! Tests of the jwt layer: the 401/403 replies, the claims handed to JS,
//! public routes, preflights and the option errors.
use std::sync::Arc;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, StatusCode};
use jsonwebtoken::{encode, get_current_timestamp, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::*;
use crate::auth::jwt::test_keys::{RSA_PRIVATE, RSA_PUBLIC};
use crate::kernel::{NativeLayer, TestRequest};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn plugin(extra: Value) -> Arc<dyn NativePlugin> {
    let mut options = json!({ "algorithm": "HS256", "secret": SECRET });
    if let (Some(o), Value::Object(e)) = (options.as_object_mut(), extra) {
        o.extend(e);
    }
    create(&options).unwrap()
}

fn layer(p: &Arc<dyn NativePlugin>, options: Value) -> Arc<dyn NativeLayer> {
    p.layer(&options).unwrap().expect("a layer")
}

fn token(claims: Value) -> String {
    let mut claims = claims;
    if claims.get("exp").is_none() {
        claims["exp"] = json!(get_current_timestamp() + 60);
    }
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

/// Runs `before` for a request with these headers; the flow and the locals.
fn run(
    layer: &Arc<dyn NativeLayer>,
    method: Method,
    headers: &[(&str, &str)],
) -> (Flow, Vec<(String, Value)>) {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    run_with(layer, method, map)
}

fn run_with(
    layer: &Arc<dyn NativeLayer>,
    method: Method,
    headers: HeaderMap,
) -> (Flow, Vec<(String, Value)>) {
    let mut request = TestRequest::new(method, "/api/x");
    request.headers = headers;
    let flow = layer.before(&mut request.ctx());
    (flow, request.locals)
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// The reply of a refused request: status, message, WWW-Authenticate.
fn refused(flow: Flow) -> (StatusCode, String, String) {
    let Flow::Respond(reply) = flow else {
        panic!("expected a reply, got {flow:?}")
    };
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    let challenge = reply
        .headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/json; charset=utf-8"
    );
    let message = body["message"].as_str().unwrap().to_owned();
    (reply.status, message, challenge)
}

#[test]
fn a_valid_token_hands_its_claims_to_js_as_user() {
    let p = plugin(json!({}));
    let l = layer(&p, json!({}));
    let t = token(json!({ "sub": "u1", "name": "Ada" }));
    let (flow, locals) = run(&l, Method::GET, &[("authorization", &bearer(&t))]);
    assert!(matches!(flow, Flow::Continue));
    assert_eq!(locals.len(), 1);
    assert_eq!(locals[0].0, "user");
    assert_eq!(locals[0].1["sub"], "u1");
    assert_eq!(locals[0].1["name"], "Ada");
}

#[test]
fn missing_or_other_scheme_is_401_with_a_bare_challenge() {
    let l = layer(&plugin(json!({})), json!(null));
    let (status, message, challenge) = refused(run(&l, Method::GET, &[]).0);
    assert_eq!(
        (status, message.as_str(), challenge.as_str()),
        (StatusCode::UNAUTHORIZED, "missing bearer token", "Bearer")
    );
    let basic = [("authorization", "Basic dXNlcjpwYXNz")];
    let (status, message, challenge) = refused(run(&l, Method::GET, &basic).0);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (message.as_str(), challenge.as_str()),
        ("authorization scheme must be Bearer", "Bearer")
    );
}

#[test]
fn refused_tokens_are_401_invalid_token_and_never_echoed() {
    let l = layer(&plugin(json!({})), json!({}));
    let expired = token(json!({ "exp": get_current_timestamp() - 100 }));
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    let claims = json!({ "exp": get_current_timestamp() + 60 });
    let wrong_alg = encode(&Header::new(Algorithm::RS256), &claims, &rsa).unwrap();
    let good = token(json!({}));
    // Another first signature character: still canonical base64url, wrong signature.
    let dot = good.rfind('.').unwrap();
    let flipped = if &good[dot + 1..dot + 2] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{}{}", &good[..=dot], flipped, &good[dot + 2..]);
    let cases = [
        (expired, "token expired"),
        (wrong_alg, "token algorithm not accepted"),
        (tampered, "invalid token signature"),
        ("not.a.jwt".to_string(), "malformed token"),
    ];
    for (t, want) in cases {
        let (status, message, challenge) =
            refused(run(&l, Method::GET, &[("authorization", &bearer(&t))]).0);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(message, want);
        assert_eq!(challenge, "Bearer error=\"invalid_token\"");
        assert!(!message.contains(&t));
    }
}

#[test]
fn two_authorization_headers_or_opaque_bytes_are_refused() {
    let l = layer(&plugin(json!({})), json!({}));
    let t = bearer(&token(json!({})));
    let (flow, locals) = run(
        &l,
        Method::GET,
        &[("authorization", &t), ("authorization", &t)],
    );
    assert_eq!(refused(flow).1, "more than one Authorization header");
    assert!(locals.is_empty());
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
    );
    assert_eq!(
        refused(run_with(&l, Method::GET, headers).0).1,
        "malformed token"
    );
}

#[test]
fn issuer_and_audience_come_from_the_plugin_options() {
    let p = plugin(json!({ "issuer": "https://auth", "audience": "api" }));
    let l = layer(&p, json!({}));
    let ok = token(json!({ "iss": "https://auth", "aud": "api" }));
    assert!(matches!(
        run(&l, Method::GET, &[("authorization", &bearer(&ok))]).0,
        Flow::Continue
    ));
    let other_iss = token(json!({ "iss": "https://evil", "aud": "api" }));
    let (_, message, _) =
        refused(run(&l, Method::GET, &[("authorization", &bearer(&other_iss))]).0);
    assert_eq!(message, "token issuer not accepted");
    let other_aud = token(json!({ "iss": "https://auth", "aud": "web" }));
    let (_, message, _) =
        refused(run(&l, Method::GET, &[("authorization", &bearer(&other_aud))]).0);
    assert_eq!(message, "token audience not accepted");
}

#[test]
fn public_routes_get_no_layer() {
    let p = plugin(json!({}));
    assert!(p.layer(&json!({ "public": true })).unwrap().is_none());
    assert!(p.layer(&json!({ "public": false })).unwrap().is_some());
}

#[test]
fn every_listed_permission_is_required() {
    let l = layer(
        &plugin(json!({})),
        json!({ "permissions": ["read", "write"] }),
    );
    let both = token(json!({ "permissions": ["write", "read", "x"] }));
    let (flow, locals) = run(&l, Method::GET, &[("authorization", &bearer(&both))]);
    assert!(matches!(flow, Flow::Continue) && locals.len() == 1);
    let one = token(json!({ "permissions": ["read"] }));
    let (flow, locals) = run(&l, Method::GET, &[("authorization", &bearer(&one))]);
    let (status, message, challenge) = refused(flow);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message, "missing permission write");
    assert_eq!(challenge, "Bearer error=\"insufficient_scope\"");
    assert!(locals.is_empty());
    let none = token(json!({}));
    assert_eq!(
        refused(run(&l, Method::GET, &[("authorization", &bearer(&none))]).0).1,
        "missing permission read"
    );
}

#[test]
fn any_listed_role_is_enough() {
    let l = layer(&plugin(json!({})), json!({ "roles": ["admin", "editor"] }));
    let editor = token(json!({ "roles": ["viewer", "editor"] }));
    assert!(matches!(
        run(&l, Method::GET, &[("authorization", &bearer(&editor))]).0,
        Flow::Continue
    ));
    let viewer = token(json!({ "roles": ["viewer"] }));
    let (status, message, _) =
        refused(run(&l, Method::GET, &[("authorization", &bearer(&viewer))]).0);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message, "missing one of the roles admin, editor");
    let one = layer(&plugin(json!({})), json!({ "roles": ["admin"] }));
    assert_eq!(
        refused(run(&one, Method::GET, &[("authorization", &bearer(&viewer))]).0).1,
        "missing role admin"
    );
}

#[test]
fn claim_names_are_configurable_and_scope_strings_count() {
    let p = plugin(json!({ "claimsPermissions": "scope", "claimsRoles": "groups" }));
    let l = layer(
        &p,
        json!({ "permissions": ["orders:read"], "roles": ["staff"] }),
    );
    let t = token(json!({ "scope": "profile orders:read", "groups": ["staff"] }));
    assert!(matches!(
        run(&l, Method::GET, &[("authorization", &bearer(&t))]).0,
        Flow::Continue
    ));
    let t = token(json!({ "permissions": ["orders:read"], "roles": ["staff"] }));
    assert_eq!(
        refused(run(&l, Method::GET, &[("authorization", &bearer(&t))]).0).0,
        StatusCode::FORBIDDEN
    );
}

#[test]
fn cors_preflights_pass_without_a_token() {
    let l = layer(&plugin(json!({})), json!({ "permissions": ["x"] }));
    let preflight = [
        ("origin", "https://app.example"),
        ("access-control-request-method", "POST"),
    ];
    let (flow, locals) = run(&l, Method::OPTIONS, &preflight);
    assert!(matches!(flow, Flow::Continue) && locals.is_empty());
    // A plain OPTIONS, or a GET with the same headers, still needs a token.
    let plain = [("origin", "https://app.example")];
    assert_eq!(
        refused(run(&l, Method::OPTIONS, &plain).0).0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refused(run(&l, Method::GET, &preflight).0).0,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn rs256_plugin() {
    let p = create(&json!({ "algorithm": "RS256", "publicKey": RSA_PUBLIC })).unwrap();
    let l = layer(&p, json!({}));
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    let claims = json!({ "sub": "r", "exp": get_current_timestamp() + 60 });
    let t = encode(&Header::new(Algorithm::RS256), &claims, &rsa).unwrap();
    let (flow, locals) = run(&l, Method::GET, &[("authorization", &bearer(&t))]);
    assert!(matches!(flow, Flow::Continue));
    assert_eq!(locals[0].1["sub"], "r");
    // An HS256 token made with the public key as secret is refused.
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        refused(run(&l, Method::GET, &[("authorization", &bearer(&forged))]).0).1,
        "token algorithm not accepted"
    );
}

#[test]
fn option_errors_name_the_option() {
    let err = |o: Value| create(&o).err().expect("refused").to_string();
    assert!(err(json!({ "algorithm": "RS256" })).contains("RS256 needs publicKey (PEM)"));
    assert!(err(json!({})).contains("algorithm is required"));
    let p = plugin(json!({}));
    let layer_err = |o: Value| p.layer(&o).err().expect("refused").to_string();
    assert!(layer_err(json!({ "public": "yes" })).contains("public must be a boolean"));
    assert!(layer_err(json!({ "permissions": "read" })).contains("permissions must be an array"));
    assert!(layer_err(json!({ "roles": ["a", ""] })).contains("roles must be an array"));
    assert!(layer_err(json!({ "public": true, "roles": ["a"] }))
        .contains("public route cannot require"));
    assert!(layer_err(json!(42)).contains("route options must be an object"));
}

#[test]
fn after_leaves_replies_alone() {
    let l = layer(&plugin(json!({})), json!({}));
    let mut request = TestRequest::new(Method::GET, "/");
    let mut reply = Reply::error(StatusCode::NOT_FOUND, "x");
    let before = reply.clone();
    l.after(&request.ctx(), &mut reply);
    assert_eq!(reply, before);
    assert_eq!(l.name(), "jwt");
}
