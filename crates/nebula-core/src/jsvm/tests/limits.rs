//! The denial-of-service shapes (research doc §11): each gets its JSON error
//! within the deadline, other routes keep answering meanwhile, the runtime
//! is replaced when it must be, and afterwards both runtimes serve again.
//! These tests run one at a time: each keeps a core busy on purpose.
use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::json;

use super::support::{get, json, start_with, text, write};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const OK: &str = r#"const rid = utils.uuid();
routerAdd("GET", "/api/ok", async (e) => { await sleep(10); e.json(200, { rid }); });"#;

/// Latency allowed to a good request while a bad one runs (2 shared cores, debug build).
const OK_WITHIN: Duration = Duration::from_millis(250);

struct Outcome {
    status: u16,
    body: serde_json::Value,
    resets: u64,
    stats: serde_json::Value,
}

impl Outcome {
    /// The error message names `needle`.
    #[track_caller]
    fn says(&self, needle: &str) {
        assert!(
            self.body["message"]
                .as_str()
                .is_some_and(|m| m.contains(needle)),
            "{}",
            self.body
        );
    }

    /// A 503, and the runtime was replaced (one reset).
    #[track_caller]
    fn replaced(&self) {
        assert_eq!(self.status, 503, "{}", self.body);
        assert_eq!(self.resets, 1);
    }

    /// Replaced, the worker stopped rather than given up.
    #[track_caller]
    fn stopped_in_place(&self) {
        self.replaced();
        assert_eq!(self.stats["abandonedWorkers"], 0, "stopped, not given up");
    }
}

async fn dos(bad: &str) -> Outcome {
    let _one = SERIAL.lock().await;
    let src = format!(
        "routerAdd('GET', '/api/bad', async (e) => {{ events.emit('started', 1);\n{bad}\n}});"
    );
    let vm = start_with(&[("ok.pb.js", OK), ("bad.pb.js", &src)], |c| {
        c.max_async_per_runtime = 1;
    });
    let resets0 = vm.jsvm.stats()["runtimeResets"].as_u64().unwrap_or(0);
    let t0 = Instant::now();
    let j = vm.jsvm.clone();
    let bad = tokio::spawn(async move { get(&j, "/api/bad").await });
    vm.events.next("started", Duration::from_secs(5)).await;
    for i in 0..20 {
        let t = Instant::now();
        let r = get(&vm.jsvm, "/api/ok").await;
        assert_eq!(r.status, 200, "ok request {i}: {}", text(&r));
        assert!(
            t.elapsed() < OK_WITHIN,
            "ok request {i} took {:?}",
            t.elapsed()
        );
    }
    let reply = bad.await.expect("join");
    let limit = Duration::from_millis(300 + 500);
    assert!(
        t0.elapsed() < limit + Duration::from_millis(250),
        "bad answered after {:?}",
        t0.elapsed()
    );
    // Afterwards, both runtimes answer.
    both_runtimes_answer(&vm.jsvm).await;
    let resets = vm.jsvm.stats()["runtimeResets"].as_u64().unwrap_or(0) - resets0;
    let body = serde_json::from_slice(&reply.body).unwrap_or(json!(null));
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "JSON error: {body}"
    );
    let stats = vm.jsvm.stats();
    Outcome {
        status: reply.status.as_u16(),
        body,
        resets,
        stats,
    }
}

#[tokio::test]
async fn dos_01_infinite_loop() {
    let o = dos("while (true) {}").await;
    o.replaced();
}

#[tokio::test]
async fn dos_02_promise_job_flood() {
    let o = dos("(function f() { Promise.resolve().then(f); })(); await sleep(1000);").await;
    o.replaced();
}

#[tokio::test]
async fn dos_03_await_loop_then_clean_teardown() {
    // rquickjs#663: an interrupted await loop once broke teardown.
    let o = dos("while (true) await Promise.resolve();").await;
    o.replaced();
}

#[tokio::test]
async fn dos_04_catastrophic_regex() {
    let o = dos("e.json(200, /(a+)+$/.test('a'.repeat(40) + '!'));").await;
    o.replaced();
}

#[tokio::test]
async fn dos_05_deep_recursion() {
    let o = dos("function r(n) { return r(n + 1) + 1; } r(0);").await;
    assert_eq!(o.status, 500);
    o.says("stack");
    // The prelude caught it and the stack unwound: a plain script error.
    assert_eq!(o.resets, 0);
}

#[tokio::test]
async fn dos_05b_recursion_caught_in_a_loop() {
    let o =
        dos("function r(n) { return r(n + 1) + 1; } for (;;) { try { r(0); } catch (_) {} }").await;
    o.replaced();
}

#[tokio::test]
async fn dos_06_deep_json_parse() {
    let o = dos("JSON.parse('['.repeat(1e6));").await;
    assert_eq!(o.status, 500);
}

#[tokio::test]
async fn dos_07_huge_string() {
    let o = dos("const s = 'x'.repeat(2 ** 29); e.json(200, s.length);").await;
    assert_eq!(o.status, 500, "{}", o.body);
    o.says("memory");
    assert_eq!(o.resets, 1);
}

#[tokio::test]
async fn dos_08_huge_array_buffer() {
    let o = dos("new ArrayBuffer(2 ** 31);").await;
    assert_eq!(o.status, 500);
    o.says("RangeError");
    let o = dos("const b = new ArrayBuffer(2 ** 31 - 1); e.json(200, b.byteLength);").await;
    assert_eq!(o.status, 500, "{}", o.body);
    assert_eq!(o.resets, 1);
}

#[tokio::test]
async fn dos_09_array_grown_until_out_of_memory() {
    let o = dos("const a = []; for (;;) a.push({ n: a.length, s: 'item' + a.length });").await;
    assert_eq!(o.resets, 1, "{}", o.body);
    assert!(o.status == 500 || o.status == 503, "{}", o.body);
}

#[tokio::test]
async fn dos_10_array_join_on_a_huge_length() {
    let o = dos("Array.prototype.join.call({ length: 2 ** 53 - 1 }, '');").await;
    assert_eq!(o.status, 500);
    o.says("too large");
}

#[tokio::test]
async fn dos_11_native_code_that_never_polls() {
    let o = dos("__block(1500);").await;
    o.replaced();
    assert_eq!(o.stats["abandonedWorkers"], 1);
    o.says("stuck");
}

/// QuickJS polls the interrupt handler once per 10 000 branches or calls;
/// here each turn is a long native call, so the loop would run for minutes
/// past its deadline on a thread given up (issue 16). Its allocations are
/// refused past the deadline instead: the thread itself stops.
#[tokio::test]
async fn dos_15_native_allocating_call_in_a_loop() {
    let o = dos("for (;;) new Uint8Array(8 << 20).fill(1);").await;
    o.stopped_in_place();
    assert_eq!(o.stats["nativeStops"], 1);
}

#[tokio::test]
async fn dos_16_native_allocating_call_in_a_loop_that_catches() {
    let o = dos("for (;;) { try { 'x'.repeat(4 << 20).toUpperCase(); } catch (_) {} }").await;
    o.stopped_in_place();
}

/// The same loop around a native call that allocates nothing: the prelude
/// refuses the call past the deadline.
#[tokio::test]
async fn dos_17_native_call_without_allocation_in_a_loop() {
    let o = dos("const a = new Uint8Array(8 << 20); for (;;) a.fill(1);").await;
    o.stopped_in_place();
    let o = dos("const a = new Float64Array(1 << 20); for (;;) { try { a.sort(); } catch (_) {} }")
        .await;
    assert_eq!(o.status, 503, "{}", o.body);
    assert_eq!(o.stats["abandonedWorkers"], 0, "stopped, not given up");
}

#[tokio::test]
async fn dos_12_deeply_nested_reply() {
    let o = dos("let o = {}; for (let i = 0; i < 100000; i++) o = { o }; e.json(200, o);").await;
    assert_eq!(o.status, 500, "{}", o.body);
}

#[tokio::test]
async fn dos_14_atomics_wait() {
    let o = dos("Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);").await;
    assert_eq!(o.status, 500, "{}", o.body);
    assert_eq!(o.resets, 0);
}

#[tokio::test]
async fn dos_13_long_sleep_times_out_while_others_share_the_runtime() {
    let _one = SERIAL.lock().await;
    let vm = start_with(
        &[(
            "a.pb.js",
            r#"
            routerAdd("GET", "/api/nap", async (e) => { events.emit("napping", 1); await sleep(10000); e.json(200, {}); });
            routerAdd("GET", "/api/ok", (e) => e.json(200, { ok: true }));
            "#,
        )],
        |c| c.pool_size = 1,
    );
    let t0 = Instant::now();
    let j = vm.jsvm.clone();
    let nap = tokio::spawn(async move { get(&j, "/api/nap").await });
    vm.events.next("napping", Duration::from_secs(5)).await;
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(get(&vm.jsvm, "/api/ok").await.status, 200);
        assert!(t.elapsed() < OK_WITHIN);
    }
    let r = nap.await.expect("join");
    assert_eq!(r.status, 503);
    assert!(
        t0.elapsed() < Duration::from_millis(800),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(
        vm.jsvm.stats()["runtimeResets"],
        0,
        "a timeout while asleep needs no reset"
    );
    assert_eq!(get(&vm.jsvm, "/api/ok").await.status, 200);
}

/// Both runtimes of the pool answer `/api/ok` (two distinct `rid`s).
async fn both_runtimes_answer(jsvm: &std::sync::Arc<crate::jsvm::Jsvm>) {
    let mut rids = HashSet::new();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let j = jsvm.clone();
            tokio::spawn(async move { get(&j, "/api/ok").await })
        })
        .collect();
    for c in calls {
        let r = c.await.expect("join");
        assert_eq!(r.status, 200, "{}", text(&r));
        rids.insert(json(&r)["rid"].to_string());
    }
    assert_eq!(rids.len(), 2, "both runtimes serve");
}

#[tokio::test]
async fn too_many_headers_is_a_500_and_a_panic_in_the_loop_replaces_the_worker() {
    let _one = SERIAL.lock().await;
    let vm = start_with(
        &[
            ("ok.pb.js", OK),
            (
                "h.pb.js",
                r#"
                routerAdd("GET", "/api/headers", (e) => {
                  for (let i = 0; i < 1000; i++) e.setHeader("x-h" + i, "v");
                  e.json(200, {});
                });
                routerAdd("GET", "/api/panic", async (e) => { __panicAfter(); await sleep(1000); e.json(200, {}); });
                "#,
            ),
        ],
        |c| {
            c.timeout = Duration::from_secs(2);
            c.max_async_per_runtime = 1;
        },
    );
    let r = get(&vm.jsvm, "/api/headers").await;
    assert_eq!(r.status, 500, "{}", text(&r));
    assert!(text(&r).contains("more than 100"), "{}", text(&r));
    both_runtimes_answer(&vm.jsvm).await;
    // A panic in the worker's loop, outside any slice: the execution it
    // held answers at once, and the worker is replaced.
    let t = Instant::now();
    let r = get(&vm.jsvm, "/api/panic").await;
    assert_eq!(r.status, 500, "{}", text(&r));
    // Well before the 2 s timeout (a loaded machine may take a few hundred ms).
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    both_runtimes_answer(&vm.jsvm).await;
    let s = vm.jsvm.stats();
    assert_eq!(s["workers"], 2, "{s}");
    assert_eq!(s["healthy"], true, "{s}");
}

#[tokio::test]
async fn a_top_level_allocation_bomb_fails_the_load() {
    let vm = start_with(
        &[(
            "a.pb.js",
            "routerAdd('GET', '/api/a', (e) => e.json(200, { v: 1 }));",
        )],
        // A small limit: the bomb reaches it well within the load's 1 s
        // budget even in a debug build on a busy machine (at 64 MiB it took
        // ~0.8 s and sometimes hit the deadline first).
        |c| {
            c.pool_size = 1;
            c.memory_limit_mb = 16;
        },
    );
    write(
        vm.dir.path(),
        &[(
            "bomb.pb.js",
            "const big = []; for (;;) big.push('x'.repeat(1000) + big.length);",
        )],
    );
    let t = Instant::now();
    let err = vm.jsvm.reload().expect_err("out of memory");
    assert!(err.message.contains("out of memory"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(vm.jsvm.generation(), 1);
    assert_eq!(json(&get(&vm.jsvm, "/api/a").await), json!({"v": 1}));
    // Files that keep more than half of the limit at the top level.
    write(
        vm.dir.path(),
        &[("bomb.pb.js", "globalThis.keep = 'x'.repeat(10 << 20);")],
    );
    let err = vm.jsvm.reload().expect_err("baseline too high");
    assert!(err.message.contains("more than half"), "{err}");
    assert_eq!(json(&get(&vm.jsvm, "/api/a").await), json!({"v": 1}));
}

#[tokio::test]
async fn a_file_stuck_in_native_code_fails_the_build() {
    let vm = start_with(
        &[(
            "a.pb.js",
            "routerAdd('GET', '/api/a', (e) => e.json(200, { v: 1 }));",
        )],
        |c| c.pool_size = 1,
    );
    write(vm.dir.path(), &[("stuck.pb.js", "__block(2500);")]);
    let t = Instant::now();
    let err = vm.jsvm.reload().expect_err("stuck");
    assert!(err.message.contains("stuck in native code"), "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(2000),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(vm.jsvm.stats()["abandonedWorkers"], 1);
    assert_eq!(vm.jsvm.generation(), 1);
    assert_eq!(json(&get(&vm.jsvm, "/api/a").await), json!({"v": 1}));
}

#[tokio::test]
async fn a_rebuilt_runtime_with_other_routes_is_not_served() {
    let vm = start_with(
        &[(
            "a.pb.js",
            r#"routerAdd("GET", "/api/spin", (e) => { for (;;) {} });
            routerAdd("GET", "/api/r/" + utils.uuid(), (e) => e.json(200, { ok: 1 }));"#,
        )],
        |c| {
            c.pool_size = 1;
            c.queue_timeout = Duration::from_millis(200);
        },
    );
    let hooks = vm.jsvm.hooks();
    let path = hooks["routes"][1]["path"]
        .as_str()
        .expect("route path")
        .to_owned();
    assert_eq!(json(&get(&vm.jsvm, &path).await), json!({"ok": 1}));
    // A timeout replaces the runtime; the new one registers another route.
    assert_eq!(get(&vm.jsvm, "/api/spin").await.status, 503);
    let t = Instant::now();
    while vm.jsvm.stats()["rebuildRetries"].as_u64().unwrap_or(0) < 1 {
        assert!(t.elapsed() < Duration::from_secs(5), "no rebuild retry");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(vm.jsvm.stats()["healthy"], false);
    // Nothing answers with the wrong handler: the task waits, then 503.
    let r = get(&vm.jsvm, &path).await;
    assert_eq!(r.status, 503, "{}", text(&r));
}
