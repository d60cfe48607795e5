//! The route event `e` as hooks use it: its request and methods are made on
//! first use, but behave as the plain object they were.
use hyper::Method;
use serde_json::json;

use super::support::{get, get_with, json, send, start, text, Req};

#[tokio::test]
async fn methods_work_off_the_event_and_can_be_replaced() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        routerAdd("GET", "/taken", (e) => { const { json, setHeader } = e; setHeader("x-a", "1"); json(200, { ok: true }); });
        routerAdd("GET", "/same", (e) => e.json(200, { same: e.request === e.request && e.json === e.json,
          keys: Object.keys(e.request.headers), host: e.request.header("HOST"), peer: e.request.remoteIp }));
        routerAdd("GET", "/replaced", (e) => {
          e.json = (status, v) => e.string(status, "replaced " + JSON.stringify(v));
          e.json(202, 1);
        }, (e) => { e.trail = "mw"; return e.next(); });
        routerAdd("GET", "/surrogate", (e) => e.json(200, { s: "a\ud800b" }));
        routerAdd("GET", "/string", (e) => e.string(200, "x\udc00"));
        "#,
    )]);
    let r = get(&vm.jsvm, "/taken").await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(json(&r), json!({"ok": true}));
    assert_eq!(r.headers.get("x-a").map(|v| v.as_bytes()), Some(&b"1"[..]));
    // Headers as one object, names sorted; a repeated header joined.
    let r = get_with(
        &vm.jsvm,
        "/same",
        &[("x-b", "2"), ("host", "h"), ("x-b", "3"), ("accept", "*/*")],
    )
    .await;
    assert_eq!(
        json(&r),
        json!({"same": true, "keys": ["accept", "host", "x-b"], "host": "h", "peer": ""})
    );
    let r = get(&vm.jsvm, "/replaced").await;
    assert_eq!((r.status.as_u16(), text(&r)), (202, "replaced 1".into()));
    // A lone surrogate crosses as an escape (JSON) or U+FFFD (text).
    assert_eq!(
        text(&get(&vm.jsvm, "/surrogate").await),
        r#"{"s":"a\ud800b"}"#
    );
    assert_eq!(text(&get(&vm.jsvm, "/string").await), "x\u{fffd}");
}

#[tokio::test]
async fn params_and_locals_reach_the_hook() {
    let vm = start(&[(
        "a.pb.js",
        r#"routerAdd("GET", "/u/:id/:tab", (e) => e.json(200, { id: e.request.param("id"), tab: e.request.param("tab"),
          user: e.get("user"), none: e.get("none") ?? null, q: e.request.query("q") }));"#,
    )]);
    let r = send(
        &vm.jsvm,
        Req {
            method: Method::GET,
            target: "/u/7/a%22b?q=%E2%9C%93",
            headers: vec![],
            body: "",
            locals: vec![("user".into(), json!({"sub": "ann", "n": [1, "\"\\\n"]}))],
        },
    )
    .await
    .expect("route");
    assert_eq!(
        json(&r),
        json!({"id": "7", "tab": "a\"b", "user": {"sub": "ann", "n": [1, "\"\\\n"]}, "none": null, "q": "✓"})
    );
}
