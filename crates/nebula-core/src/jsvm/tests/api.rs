//! The hook API: requests, chains, require, state, events, plugins.
use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::json;

use super::support::{get, get_with, json, post, send, start, start_with, text, Req};

const SEC: Duration = Duration::from_secs(5);

#[tokio::test]
async fn params_query_headers_and_json_body() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        routerAdd("POST", "/api/items/:id", (e) => {
          const body = e.request.json();
          e.setHeader("x-item", e.request.param("id"));
          e.json(201, {
            id: e.request.param("id"), missing: e.request.param("nope"),
            q: e.request.query("q"), sp: e.request.query("sp"),
            h: e.request.header("X-Key"), method: e.request.method, path: e.request.path,
            name: body.name, text: e.request.text().length,
          });
        });
        routerAdd("GET", "/api/html", (e) => e.html(200, "<b>hi</b>"));
        routerAdd("GET", "/api/none", (e) => {});
        "#,
    )]);
    let r = send(
        &vm.jsvm,
        Req {
            method: Method::POST,
            target: "/api/items/a%20b?q=1&sp=x+y%21",
            headers: vec![("x-key", "k1")],
            body: r#"{"name":"box"}"#,
            locals: vec![],
        },
    )
    .await
    .expect("route");
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(
        r.headers.get("x-item").map(|v| v.as_bytes()),
        Some(&b"a b"[..])
    );
    assert_eq!(
        json(&r),
        json!({"id": "a b", "missing": "", "q": "1", "sp": "x y!", "h": "k1", "method": "POST",
               "path": "/api/items/a%20b", "name": "box", "text": 14})
    );
    let h = get(&vm.jsvm, "/api/html").await;
    assert_eq!(
        h.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/html; charset=utf-8"[..])
    );
    assert_eq!(text(&h), "<b>hi</b>");
    assert_eq!(get(&vm.jsvm, "/api/none").await.status, 204);
    assert!(vm.jsvm.lookup(&Method::GET, "/api/nope").is_none());
    // A body that is not JSON is the client's error.
    let bad = post(&vm.jsvm, "/api/items/1", "{").await;
    assert_eq!(bad.status, 400, "{}", text(&bad));
    // Too deeply nested for the stack: still the client's error, and no reset.
    let deep = "[".repeat(200_000);
    let bad = post(&vm.jsvm, "/api/items/1", &deep).await;
    assert_eq!(bad.status, 400, "{}", text(&bad));
    assert_eq!(vm.jsvm.stats()["runtimeResets"], 0);
}

#[tokio::test]
async fn chains_run_by_priority_and_stop_without_next() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        const seen = (e, tag) => { e.trail = (e.trail || []).concat(tag); };
        onRequest((e) => { seen(e, "p10"); return e.next(); }, 10);
        onRequest((e) => { seen(e, "p-5"); return e.next(); }, -5);
        onRequest((e) => { seen(e, "p0"); return e.next(); });
        routerUse((e) => {
          seen(e, "use");
          if (e.request.header("x-stop")) return e.json(401, { error: "no key", trail: e.trail });
          if (e.request.header("x-throw")) throw new Error("use failed");
          return e.next();
        });
        routerAdd("GET", "/api/chain", (e) => { seen(e, "handler"); e.json(200, e.trail); },
          (e) => { seen(e, "mw"); return e.next(); });
        routerAdd("GET", "/api/after", async (e) => { await sleep(5); e.json(200, { ok: 1 }); },
          (e) => { e.next(); });
        "#,
    )]);
    let r = get(&vm.jsvm, "/api/chain").await;
    assert_eq!(
        json(&r),
        json!(["p-5", "p0", "p10", "use", "mw", "handler"])
    );
    let stop = get_with(&vm.jsvm, "/api/chain", &[("x-stop", "1")]).await;
    assert_eq!(stop.status, 401);
    assert_eq!(json(&stop)["trail"], json!(["p-5", "p0", "p10", "use"]));
    let thrown = get_with(&vm.jsvm, "/api/chain", &[("x-throw", "1")]).await;
    assert_eq!(thrown.status, 500);
    assert_eq!(json(&thrown)["message"], "Error: use failed");
    assert!(!text(&thrown).contains("a.pb.js"), "no stack to the client");
    // A middleware that calls e.next() without returning it still waits for the handler.
    assert_eq!(json(&get(&vm.jsvm, "/api/after").await), json!({"ok": 1}));
}

#[tokio::test]
async fn require_caches_and_stays_inside_the_folder() {
    let vm = start(&[
        ("lib/counter.js", "let n = 0; module.exports = { next: () => ++n, loads: (globalThis.__loads = (globalThis.__loads || 0) + 1) };"),
        ("lib/data.json", r#"{"answer": 42}"#),
        ("lib/index.js", "module.exports = require('./counter');"),
        (
            "a.pb.js",
            r#"
            const c1 = require("./lib/counter");
            const c2 = require("./lib/counter.js");
            const c3 = require("./lib");
            const data = require("./lib/data.json");
            let outside = "";
            try { require("../secret.js"); } catch (err) { outside = err.message; }
            let bare = "";
            try { require("fs"); } catch (err) { bare = err.message; }
            routerAdd("GET", "/api/req", (e) => e.json(200, {
              same: c1 === c2 && c2 === c3, loads: c1.loads, n: [c1.next(), c2.next()],
              answer: data.answer, outside, bare,
            }));
            "#,
        ),
    ]);
    let r = json(&get(&vm.jsvm, "/api/req").await);
    assert_eq!(r["same"], true);
    assert_eq!(r["loads"], 1);
    assert_eq!(r["answer"], 42);
    assert!(
        r["outside"]
            .as_str()
            .is_some_and(|m| m.contains("leaves the folder")),
        "{r}"
    );
    assert!(
        r["bare"]
            .as_str()
            .is_some_and(|m| m.contains("inside the hooks folder")),
        "{r}"
    );
    let n = r["n"].as_array().expect("array");
    assert_eq!(n[1].as_i64(), n[0].as_i64().map(|x| x + 1));
}

#[tokio::test]
async fn file_level_state_is_per_runtime_and_kept_between_requests() {
    let vm = start_with(
        &[(
            "a.pb.js",
            "let hits = 0; const rid = utils.uuid();\nrouterAdd('GET', '/api/hit', (e) => e.json(200, { hits: ++hits, rid }));",
        )],
        |c| c.pool_size = 1,
    );
    let a = json(&get(&vm.jsvm, "/api/hit").await);
    let b = json(&get(&vm.jsvm, "/api/hit").await);
    assert_eq!(a["hits"], 1);
    assert_eq!(b["hits"], 2);
    assert_eq!(a["rid"], b["rid"]);
    assert_eq!(a["rid"].as_str().map(|s| s.len()), Some(36));
}

#[tokio::test]
async fn locals_reach_the_script() {
    let vm = start(&[("a.pb.js", "routerAdd('GET', '/api/me', (e) => e.json(200, { sub: e.get('user').sub, none: e.get('x') === undefined }));")]);
    let r = send(
        &vm.jsvm,
        Req {
            locals: vec![("user".into(), json!({"sub": "u1"}))],
            ..Req::get("/api/me")
        },
    )
    .await
    .expect("route");
    assert_eq!(json(&r), json!({"sub": "u1", "none": true}));
}

#[tokio::test]
async fn sleep_does_not_block_the_runtime_for_others() {
    let vm = start_with(
        &[(
            "a.pb.js",
            r#"
            routerAdd("GET", "/api/slow", async (e) => { events.emit("slow", 1); await sleep(250); e.json(200, { slept: true }); });
            routerAdd("GET", "/api/fast", (e) => e.json(200, { fast: true }));
            "#,
        )],
        |c| {
            c.pool_size = 1;
            c.timeout = Duration::from_secs(2);
        },
    );
    let j = vm.jsvm.clone();
    let slow = tokio::spawn(async move { get(&j, "/api/slow").await });
    vm.events.next("slow", SEC).await;
    let t = Instant::now();
    let fast = get(&vm.jsvm, "/api/fast").await;
    assert_eq!(fast.status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "fast waited {:?}",
        t.elapsed()
    );
    assert!(!slow.is_finished(), "the slow one is still sleeping");
    let slow = slow.await.expect("join");
    assert_eq!(json(&slow), json!({"slept": true}));
}

#[tokio::test]
async fn events_flow_both_ways() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        app.on("ping", (e) => { events.emit("pong", { got: e.data.n, name: e.name }); return e.next(); });
        app.on("ping", (e) => { events.emit("second", e.data.n); });
        app.on("ping", (e) => { events.emit("never", 1); });
        routerAdd("GET", "/api/emit", (e) => { events.emit("from-route", { a: [1, 2] }); e.json(200, {}); });
        "#,
    )]);
    assert_eq!(get(&vm.jsvm, "/api/emit").await.status, 200);
    assert_eq!(
        vm.events.next("from-route", SEC).await,
        json!({"a": [1, 2]})
    );
    vm.jsvm.emit("ping", r#"{"n": 7}"#);
    vm.jsvm.emit("nobody-listens", "{}");
    assert_eq!(
        vm.events.next("pong", SEC).await,
        json!({"got": 7, "name": "ping"})
    );
    assert_eq!(vm.events.next("second", SEC).await, json!(7));
    vm.jsvm.emit("ping", r#"{"n": 8}"#);
    // The third listener never ran: the second did not call e.next().
    assert_eq!(vm.events.next("second", SEC).await, json!(8));
}

#[tokio::test]
async fn bootstrap_runs_once_and_terminate_at_shutdown() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        onBootstrap((e) => { events.emit("boot", 1); return e.next(); });
        onTerminate((e) => { events.emit("bye", 2); return e.next(); });
        routerAdd("GET", "/api/x", (e) => e.json(200, {}));
        "#,
    )]);
    assert_eq!(vm.events.next("boot", SEC).await, json!(1));
    vm.jsvm.shutdown();
    assert_eq!(vm.events.next("bye", SEC).await, json!(2));
    let after = get(&vm.jsvm, "/api/x").await;
    assert_eq!(after.status, 503, "stopped");
}

#[tokio::test]
async fn types_are_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::jsvm::write_types(dir.path()).expect("write");
    let t = std::fs::read_to_string(dir.path().join("types.d.ts")).expect("read");
    for name in [
        "routerAdd",
        "routerUse",
        "onRequest",
        "cronAdd",
        "sleep",
        "events",
        "utils",
    ] {
        assert!(t.contains(name), "{name} missing");
    }
}

#[test]
fn the_api_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<crate::jsvm::Jsvm>();
    send_sync::<crate::jsvm::HookRoute>();
    let vm = start(&[("a.pb.js", "routerAdd('GET', '/x', (e) => {});")]);
    let route = vm.jsvm.lookup(&Method::GET, "/x").expect("route");
    let req = crate::jsvm::HookRequest {
        method: Method::GET,
        target: "/x".into(),
        headers: Default::default(),
        body: Default::default(),
        locals: vec![],
        peer: None,
    };
    let fut = vm.jsvm.call(&route, req);
    send(&fut);
}

#[tokio::test]
async fn framing_headers_are_dropped_and_bad_statuses_are_500() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        onRequest((e) => {
          e.setHeader("Content-Length", "99999");
          e.setHeader("transfer-encoding", "chunked");
          e.setHeader("Connection", "close");
          e.setHeader("Keep-Alive", "timeout=1");
          e.setHeader("x-kept", "yes");
          return e.next();
        });
        routerAdd("GET", "/api/framed", (e) => e.json(200, { ok: true }));
        routerAdd("GET", "/api/ctype", (e) => { e.setHeader("content-type", "text/csv"); e.string(200, "a,b"); });
        routerAdd("GET", "/api/s101", (e) => e.json(101, {}));
        routerAdd("GET", "/api/s199", (e) => e.noContent(199));
        "#,
    )]);
    let r = get(&vm.jsvm, "/api/framed").await;
    assert_eq!(r.status, 200, "{}", text(&r));
    for h in [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ] {
        assert!(r.headers.get(h).is_none(), "{h} must be dropped");
    }
    assert_eq!(
        r.headers.get("x-kept").map(|v| v.as_bytes()),
        Some(&b"yes"[..])
    );
    let c = get(&vm.jsvm, "/api/ctype").await;
    let ct: Vec<_> = c.headers.get_all("content-type").iter().collect();
    assert_eq!(ct.len(), 1, "one content type: {ct:?}");
    assert_eq!(ct[0].as_bytes(), b"text/csv");
    for path in ["/api/s101", "/api/s199"] {
        let r = get(&vm.jsvm, path).await;
        assert_eq!(r.status, 500, "{path}: {}", text(&r));
        assert!(text(&r).contains("invalid status"), "{}", text(&r));
    }
    assert_eq!(vm.jsvm.stats()["runtimeResets"], 0);
}

#[tokio::test]
async fn script_errors_that_look_like_limits_do_not_reset_the_runtime() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        routerAdd("GET", "/api/echo/:msg", (e) => { throw new Error("failed: " + e.request.param("msg")); });
        routerAdd("GET", "/api/stack", (e) => { throw new RangeError("Maximum call stack size exceeded"); });
        routerAdd("GET", "/api/internal", (e) => { throw new InternalError("stack overflow"); });
        routerAdd("GET", "/api/undef", (e) => { throw undefined; });
        routerAdd("GET", "/api/reject", (e) => Promise.reject());
        routerAdd("GET", "/api/caught", (e) => {
          function r(n) { return r(n + 1) + 1; }
          try { r(0); } catch (err) { return e.json(200, { caught: String(err) }); }
        });
        routerAdd("GET", "/api/rethrown", (e) => { function r(n) { return r(n + 1) + 1; } r(0); });
        "#,
    )]);
    for path in [
        "/api/echo/out%20of%20memory",
        "/api/echo/stack%20overflow",
        "/api/stack",
        "/api/internal",
        "/api/undef",
        "/api/reject",
        "/api/rethrown",
    ] {
        let r = get(&vm.jsvm, path).await;
        assert_eq!(r.status, 500, "{path}: {}", text(&r));
        let m = json(&r)["message"].as_str().unwrap_or_default().to_owned();
        assert!(
            !m.contains("ran out of memory") && !m.contains("exceeded the stack limit"),
            "{path}: {m}"
        );
    }
    let r = get(&vm.jsvm, "/api/echo/out%20of%20memory").await;
    assert_eq!(json(&r)["message"], "Error: failed: out of memory");
    assert_eq!(
        json(&get(&vm.jsvm, "/api/undef").await)["message"],
        "undefined"
    );
    let c = get(&vm.jsvm, "/api/caught").await;
    assert_eq!(c.status, 200, "{}", text(&c));
    assert_eq!(vm.jsvm.stats()["runtimeResets"], 0, "no reset counted");
}

#[tokio::test]
async fn array_guards_cover_shift_unshift_accessors_and_proxies() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        const huge = () => ({ length: 2 ** 53 - 1 });
        const tries = {
          shift: () => Array.prototype.shift.call(huge()),
          unshift: () => Array.prototype.unshift.call(huge(), 1),
          sparse: () => { const a = []; a.length = 2 ** 32 - 1; return a.join(""); },
          getter: () => Array.prototype.join.call({ get length() { return 1; } }),
          inherited: () => Array.prototype.shift.call(Object.create({ get length() { return 1; } })),
          valueOf: () => Array.prototype.join.call({ length: { valueOf: () => 1 } }),
          proxy: () => Array.prototype.join.call(new Proxy([1, 2], {})),
          concat: () => [].concat({ length: 2 ** 53 - 1, [Symbol.isConcatSpreadable]: true }),
        };
        routerAdd("GET", "/api/guards", (e) => {
          const out = {};
          for (const [k, f] of Object.entries(tries)) {
            try { f(); out[k] = "ran"; } catch (err) { out[k] = err.name + ": " + err.message; }
          }
          // Ordinary uses still work.
          const a = [3, 1, 2];
          a.unshift(0);
          out.ok = [a.shift(), a.join("-"), Array.prototype.slice.call("abc").join(""),
            Array.prototype.join.call(new Uint8Array([1, 2])), Array.prototype.join.call({ length: 2, 0: "x", 1: "y" }),
            [1].concat([2], 3).length];
          e.json(200, out);
        });
        "#,
    )]);
    let t = Instant::now();
    let r = get(&vm.jsvm, "/api/guards").await;
    assert!(
        t.elapsed() < Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let out = json(&r);
    for k in ["shift", "unshift", "sparse", "concat"] {
        let m = out[k].as_str().unwrap_or_default();
        assert!(
            m.starts_with("RangeError") && m.contains("too large"),
            "{k}: {m}"
        );
    }
    for k in ["getter", "inherited", "valueOf", "proxy"] {
        let m = out[k].as_str().unwrap_or_default();
        assert!(m.starts_with("TypeError"), "{k}: {m}");
    }
    assert_eq!(out["ok"], json!([0, "3-1-2", "abc", "1,2", "x,y", 3]));
}

#[tokio::test]
async fn lone_surrogates_do_not_break_replies_and_the_prelude_is_out_of_reach() {
    let vm = start(&[(
        "a.pb.js",
        r#"
        routerAdd("GET", "/api/lone", (e) => { e.setHeader("x-s", "\ud800"); e.string(200, "a\ud800b"); });
        routerAdd("GET", "/api/lone-throw", (e) => { throw new Error("bad \udc00"); });
        routerAdd("GET", "/api/lone-emit", (e) => { events.emit("lone\ud800", 1); e.json(200, {}); });
        routerAdd("GET", "/api/reach", (e) => e.json(200, {
          jsvm: typeof globalThis.__jsvm, native: typeof globalThis.__native,
          names: Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith("__") && n !== "__proto__" && n !== "__block" && n !== "__panicAfter"),
        }));
        "#,
    )]);
    let r = get(&vm.jsvm, "/api/lone").await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(text(&r), "a\u{fffd}b");
    let r = get(&vm.jsvm, "/api/lone-throw").await;
    assert_eq!(r.status, 500);
    assert_eq!(json(&r)["message"], "Error: bad \u{fffd}");
    assert_eq!(get(&vm.jsvm, "/api/lone-emit").await.status, 200);
    vm.events.next("lone\u{fffd}", SEC).await;
    let r = json(&get(&vm.jsvm, "/api/reach").await);
    assert_eq!(
        r,
        json!({"jsvm": "undefined", "native": "undefined", "names": []})
    );
    assert_eq!(vm.jsvm.stats()["runtimeResets"], 0);
}

#[tokio::test]
async fn a_timeout_is_counted_once() {
    let vm = start_with(
        &[(
            "a.pb.js",
            r#"routerAdd("GET", "/api/late", async (e) => { await sleep(10000); e.json(200, {}); });
            routerAdd("GET", "/api/ok", (e) => { e.json(200, {}); sleep(10000).then(() => {}); });"#,
        )],
        |c| c.pool_size = 1,
    );
    // Answered executions with a timer left pass their deadline while the
    // late one runs: only the late one is a timeout.
    for _ in 0..3 {
        assert_eq!(get(&vm.jsvm, "/api/ok").await.status, 200);
    }
    assert_eq!(get(&vm.jsvm, "/api/late").await.status, 503);
    let s = vm.jsvm.stats();
    assert_eq!(s["timeouts"], 1, "{s}");
    assert_eq!(s["errors"], 1, "{s}");
}
