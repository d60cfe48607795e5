use hyper::header::{CONTENT_TYPE, VARY};
use serde_json::json;

use super::*;
use crate::kernel::Classify;
use crate::kernel::{run_layers, TestRequest};

/// Runs `options`' layer around a handler answering 200 `{"ok":true}` (plus
/// `extra` response headers); returns the reply and whether the handler ran.
async fn run(
    options: serde_json::Value,
    method: Method,
    req: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> (Reply, bool) {
    let plugin = create(&options).unwrap();
    let layer = plugin.layer(&options).unwrap().unwrap();
    let mut headers = HeaderMap::new();
    for (k, v) in req {
        headers.append(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let mut request = TestRequest::new(method, "/x");
    request.headers = headers;
    let mut ctx = request.ctx();
    let mut ran = false;
    let reply = run_layers(&[layer], &mut ctx, |_| {
        ran = true;
        let mut r = Reply::json(StatusCode::OK, r#"{"ok":true}"#.into());
        for (k, v) in extra {
            r.headers.append(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        async move { r }
    })
    .await;
    (reply, ran)
}

fn get<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

fn vary(r: &Reply) -> Vec<&str> {
    r.headers
        .get_all(VARY)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

const PREFLIGHT: &[(&str, &str)] = &[
    ("origin", "https://app.example.com"),
    ("access-control-request-method", "PUT"),
    ("access-control-request-headers", "content-type, x-id"),
];

#[tokio::test]
async fn preflight_from_an_allowed_origin_is_answered_without_the_handler() {
    let opts = json!({
        "origins": ["https://*.example.com"], "credentials": true, "maxAge": 600
    });
    let (r, ran) = run(opts, Method::OPTIONS, PREFLIGHT, &[]).await;
    assert!(!ran);
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    assert_eq!(
        get(&r, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(get(&r, "access-control-allow-credentials"), Some("true"));
    assert_eq!(
        get(&r, "access-control-allow-methods"),
        Some("GET, HEAD, PUT, PATCH, POST, DELETE")
    );
    assert_eq!(
        get(&r, "access-control-allow-headers"),
        Some("content-type, x-id")
    );
    assert_eq!(get(&r, "access-control-max-age"), Some("600"));
    assert_eq!(vary(&r), vec![PREFLIGHT_VARY]);
}

#[tokio::test]
async fn preflight_uses_the_configured_header_list_and_wildcard_origin() {
    let opts = json!({ "allowedHeaders": ["Content-Type"], "methods": ["GET", "POST"] });
    let (r, ran) = run(opts, Method::OPTIONS, PREFLIGHT, &[]).await;
    assert!(!ran);
    assert_eq!(get(&r, "access-control-allow-origin"), Some("*"));
    assert_eq!(get(&r, "access-control-allow-methods"), Some("GET, POST"));
    assert_eq!(
        get(&r, "access-control-allow-headers"),
        Some("Content-Type")
    );
    assert_eq!(get(&r, "access-control-allow-credentials"), None);
    assert_eq!(get(&r, "access-control-max-age"), None);
    let none = json!({ "allowedHeaders": [] });
    let (r, _) = run(none, Method::OPTIONS, PREFLIGHT, &[]).await;
    assert_eq!(get(&r, "access-control-allow-headers"), None);
    assert_eq!(get(&r, "access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn preflight_from_a_refused_origin_gets_a_bare_204() {
    let opts = json!({ "origins": ["https://app.example.com"] });
    let req = &[
        ("origin", "https://evil.test"),
        ("access-control-request-method", "DELETE"),
    ];
    let (r, ran) = run(opts, Method::OPTIONS, req, &[]).await;
    assert!(!ran);
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!r
        .headers
        .keys()
        .any(|k| k.as_str().starts_with("access-control-")));
    assert_eq!(vary(&r), vec![PREFLIGHT_VARY]);
}

#[tokio::test]
async fn options_without_request_method_is_not_a_preflight() {
    let req = &[("origin", "https://a.example.com")];
    let (r, ran) = run(json!({}), Method::OPTIONS, req, &[]).await;
    assert!(ran);
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(get(&r, "access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn simple_request_from_an_allowed_origin() {
    let opts = json!({
        "origins": ["https://app.example.com"], "exposedHeaders": ["X-Total", "X-Page"],
        "credentials": true
    });
    let req = &[("origin", "https://app.example.com")];
    let (r, ran) = run(opts, Method::GET, req, &[]).await;
    assert!(ran);
    assert_eq!(
        get(&r, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(get(&r, "access-control-allow-credentials"), Some("true"));
    assert_eq!(
        get(&r, "access-control-expose-headers"),
        Some("X-Total, X-Page")
    );
    assert_eq!(get(&r, "access-control-allow-methods"), None);
    assert_eq!(vary(&r), vec!["Origin"]);
    assert_eq!(
        get(&r, CONTENT_TYPE.as_str()),
        Some("application/json; charset=utf-8")
    );
}

#[tokio::test]
async fn refused_or_absent_origin_gets_only_vary() {
    let opts = json!({ "origins": ["https://app.example.com"] });
    for req in [&[("origin", "https://evil.test")][..], &[][..]] {
        let (r, ran) = run(opts.clone(), Method::GET, req, &[]).await;
        assert!(ran);
        assert_eq!(get(&r, "access-control-allow-origin"), None);
        assert_eq!(vary(&r), vec!["Origin"]);
    }
}

#[tokio::test]
async fn wildcard_sends_star_always_and_no_vary() {
    for req in [&[("origin", "https://x.test")][..], &[][..]] {
        let (r, _) = run(json!({ "origins": "*" }), Method::POST, req, &[]).await;
        assert_eq!(get(&r, "access-control-allow-origin"), Some("*"));
        assert!(vary(&r).is_empty());
    }
}

#[tokio::test]
async fn wildcard_with_credentials_echoes_the_origin_but_not_null() {
    let opts = json!({ "origins": "*", "credentials": true });
    let req = &[("origin", "https://x.test")];
    let (r, _) = run(opts.clone(), Method::GET, req, &[]).await;
    assert_eq!(
        get(&r, "access-control-allow-origin"),
        Some("https://x.test")
    );
    assert_eq!(get(&r, "access-control-allow-credentials"), Some("true"));
    assert_eq!(vary(&r), vec!["Origin"]);
    let (r, _) = run(opts, Method::GET, &[("origin", "null")], &[]).await;
    assert_eq!(get(&r, "access-control-allow-origin"), None);
    // An explicitly listed "null" is allowed.
    let listed = json!({ "origins": ["null"] });
    let (r, _) = run(listed, Method::GET, &[("origin", "null")], &[]).await;
    assert_eq!(get(&r, "access-control-allow-origin"), Some("null"));
}

#[tokio::test]
async fn vary_is_appended_not_clobbered() {
    let opts = json!({ "origins": ["https://a.test"] });
    let req = &[("origin", "https://a.test")];
    let (r, _) = run(opts.clone(), Method::GET, req, &[("vary", "Accept")]).await;
    assert_eq!(vary(&r), vec!["Accept", "Origin"]);
    let (r, _) = run(
        opts.clone(),
        Method::GET,
        req,
        &[("vary", "accept, origin")],
    )
    .await;
    assert_eq!(vary(&r), vec!["accept, origin"]);
    let (r, _) = run(opts, Method::GET, req, &[("vary", "*")]).await;
    assert_eq!(vary(&r), vec!["*"]);
}

#[tokio::test]
async fn a_handler_set_allow_origin_is_kept() {
    let opts = json!({ "origins": ["https://a.test"], "credentials": true });
    let req = &[("origin", "https://a.test")];
    let own = &[("access-control-allow-origin", "https://other.test")];
    let (r, _) = run(opts, Method::GET, req, own).await;
    assert_eq!(
        get(&r, "access-control-allow-origin"),
        Some("https://other.test")
    );
    assert_eq!(get(&r, "access-control-allow-credentials"), None);
}

#[test]
fn layers_reuse_the_plugin_default_and_reject_bad_merged_options() {
    let opts = json!({ "origins": ["https://a.test"] });
    let plugin = create(&opts).unwrap();
    let a = plugin.layer(&opts).unwrap().unwrap();
    let b = plugin.layer(&opts).unwrap().unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let other = plugin.layer(&json!({ "origins": "*" })).unwrap().unwrap();
    assert!(!Arc::ptr_eq(&a, &other));
    let err = plugin.layer(&json!({ "maxAge": "1" })).err().unwrap();
    assert!(err.is_bad_input(), "{err}");
    assert!(err.to_string().contains("maxAge"), "{err}");
    assert!(create(&json!({ "credentials": 1 }))
        .err()
        .unwrap()
        .to_string()
        .contains("credentials"));
}
