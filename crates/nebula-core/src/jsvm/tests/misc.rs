//! Plugins, cron, log lines, the pool's queue, stats and metrics.
use std::time::Duration;

use serde_json::json;

use super::support::{get, json, start_with, text, write, Vm};
use crate::jsvm::cron::utc;
use crate::kernel::Reply;

const SEC: Duration = Duration::from_secs(5);

const PLUGIN: &str = r#"
module.exports = {
  id: "tagger", name: "Tagger", version: "1.2.0", description: "tags replies",
  hooks: ["onRequest", "tag.ping"],
  config: { enabled: true, tag: "T1", priority: -1 },
  onRequest(e, config) { e.setHeader("x-tag", config.tag + ":" + this.version); return e.next(); },
  "tag.ping"(e, config) { events.emit("tag.pong", config.tag); },
};
"#;

#[tokio::test]
async fn plugins_are_listed_gated_and_switched_at_run_time() {
    let plugins = tempfile::tempdir().expect("tempdir");
    write(
        plugins.path(),
        &[
            ("tagger.js", PLUGIN),
            (
                "off.js",
                "module.exports = { id: 'off', hooks: ['onRequest'], config: { enabled: false },\n onRequest(e) { e.setHeader('x-off', '1'); return e.next(); } };",
            ),
        ],
    );
    let p = plugins.path().to_path_buf();
    let vm = start_with(
        &[(
            "a.pb.js",
            "routerAdd('GET', '/api/a', (e) => e.json(200, {}));",
        )],
        |c| {
            c.plugins_dir = Some(p);
        },
    );
    let r = get(&vm.jsvm, "/api/a").await;
    assert_eq!(
        r.headers.get("x-tag").map(|v| v.as_bytes()),
        Some(&b"T1:1.2.0"[..])
    );
    assert!(r.headers.get("x-off").is_none(), "disabled by its config");
    let list = vm.jsvm.plugins();
    let tagger = list
        .as_array()
        .and_then(|l| l.iter().find(|p| p["id"] == "tagger"))
        .cloned();
    let tagger = tagger.expect("listed");
    assert_eq!(tagger["version"], "1.2.0");
    assert_eq!(tagger["enabled"], true);
    assert_eq!(tagger["config"]["tag"], "T1");
    vm.jsvm.emit("tag.ping", "{}");
    assert_eq!(vm.events.next("tag.pong", SEC).await, json!("T1"));

    assert!(vm.jsvm.set_plugin_enabled("tagger", false));
    assert!(vm.jsvm.set_plugin_enabled("off", true));
    assert!(!vm.jsvm.set_plugin_enabled("nope", true));
    let r = get(&vm.jsvm, "/api/a").await;
    assert!(r.headers.get("x-tag").is_none());
    assert_eq!(
        r.headers.get("x-off").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    // The switch holds across a reload.
    vm.jsvm.reload().expect("reload");
    let r = get(&vm.jsvm, "/api/a").await;
    assert!(r.headers.get("x-tag").is_none());
    let list = vm.jsvm.plugins();
    assert!(list.as_array().is_some_and(|l| l
        .iter()
        .any(|p| p["id"] == "tagger" && p["enabled"] == false)));
}

#[tokio::test]
async fn cron_jobs_run_when_due_and_can_be_removed() {
    let vm = start_with(
        &[(
            "a.pb.js",
            r#"
            let runs = 0;
            cronAdd("tick", "*/5 * * * *", async () => { await sleep(1); events.emit("tick", ++runs); });
            cronAdd("gone", "@hourly", () => events.emit("gone-ran", 1));
            cronRemove("gone");
            routerAdd("DELETE", "/api/cron", (e) => e.json(200, { removed: cronRemove("tick") }));
            routerAdd("GET", "/api/late", (e) => { cronAdd("late", "* * * * *", () => {}); });
            "#,
        )],
        |c| c.pool_size = 1,
    );
    let g = vm.jsvm.current_generation();
    let ids: Vec<String> = g.cron.list().into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, vec!["tick"]);
    // A controllable clock: ten minutes from now, the job is due.
    let later = utc(std::time::SystemTime::now()) + chrono::Duration::minutes(10);
    assert_eq!(g.run_due(later), 1);
    assert_eq!(vm.events.next("tick", SEC).await, json!(1));
    let late = get(&vm.jsvm, "/api/late").await;
    assert_eq!(late.status, 500);
    assert!(text(&late).contains("only allowed while the hook files load"));
    let del = super::support::send(
        &vm.jsvm,
        super::support::Req {
            method: hyper::Method::DELETE,
            ..super::support::Req::get("/api/cron")
        },
    )
    .await
    .expect("route");
    assert_eq!(json(&del), json!({"removed": true}));
    assert!(g.cron.list().is_empty());
    assert_eq!(g.run_due(later + chrono::Duration::minutes(10)), 0);
}

#[tokio::test]
async fn log_lines_carry_the_file_name() {
    let vm = {
        start_with(
            &[
                ("lib/util.js", "module.exports = (x) => log.warn('util says', x);"),
                (
                    "logs.pb.js",
                    "const util = require('./lib/util');\nrouterAdd('GET', '/api/log', (e) => { log.info('hello', { n: 1 }); console.error('bad', 2); util('z'); e.json(200, {}); });\nrouterAdd('GET', '/api/throw', (e) => { throw new Error('kaput'); });",
                ),
            ],
            |_| {},
        )
    };
    assert_eq!(get(&vm.jsvm, "/api/log").await.status, 200);
    assert_eq!(get(&vm.jsvm, "/api/throw").await.status, 500);
    let got = crate::jsvm::globals::TEST_LOG.lock().clone();
    let has = |level: &str, file: &str, msg: &str| {
        got.iter()
            .any(|(l, f, m)| l == level && f == file && m.contains(msg))
    };
    assert!(has("INFO", "logs.pb.js", r#"hello {"n":1}"#), "{got:?}");
    assert!(has("ERROR", "logs.pb.js", "bad 2"), "{got:?}");
    assert!(has("WARN", "lib/util.js", "util says z"), "{got:?}");
    assert!(
        has("ERROR", "logs.pb.js", "kaput"),
        "script errors are logged with their file: {got:?}"
    );
}

/// A pool of one worker (2 s timeout), busy for 300 ms with a first
/// `/api/busy` call: returned with that call once it runs.
async fn one_busy_worker(
    tune: impl FnOnce(&mut crate::jsvm::JsvmConfig),
) -> (Vm, tokio::task::JoinHandle<Reply>) {
    let vm = start_with(
        &[(
            "a.pb.js",
            "routerAdd('GET', '/api/busy', (e) => { events.emit('busy', 1); __block(300); e.json(200, {}); });",
        )],
        |c| {
            c.pool_size = 1;
            c.timeout = Duration::from_secs(2);
            tune(c);
        },
    );
    let j = vm.jsvm.clone();
    let first = tokio::spawn(async move { get(&j, "/api/busy").await });
    vm.events.next("busy", SEC).await;
    (vm, first)
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let (vm, first) = one_busy_worker(|c| c.queue_limit = 1).await;
    let j = vm.jsvm.clone();
    let second = tokio::spawn(async move { get(&j, "/api/busy").await });
    // The spawned call runs up to its wait for the reply: it is queued.
    tokio::task::yield_now().await;
    assert_eq!(vm.jsvm.stats()["queued"], 1);
    let third = get(&vm.jsvm, "/api/busy").await;
    assert_eq!(third.status, 503);
    assert_eq!(
        third.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    assert_eq!(first.await.expect("join").status, 200);
    assert_eq!(second.await.expect("join").status, 200);
    assert_eq!(vm.jsvm.stats()["busyRejections"], 1);
}

#[tokio::test]
async fn a_task_queued_too_long_answers_503() {
    let (vm, first) = one_busy_worker(|c| c.queue_timeout = Duration::from_millis(100)).await;
    let late = get(&vm.jsvm, "/api/busy").await;
    assert_eq!(late.status, 503, "{}", text(&late));
    assert!(late.headers.get("retry-after").is_some());
    assert_eq!(first.await.expect("join").status, 200);
    assert_eq!(vm.jsvm.stats()["queueTimeouts"], 1);
}

#[tokio::test]
async fn stats_and_metrics() {
    let vm = start_with(&[("a.pb.js", "routerAdd('GET', '/api/s', (e) => e.json(200, {}));\nrouterAdd('GET', '/api/f', (e) => { throw 1; });")], |_| {});
    for _ in 0..3 {
        get(&vm.jsvm, "/api/s").await;
    }
    get(&vm.jsvm, "/api/f").await;
    let s = vm.jsvm.stats();
    assert_eq!(s["poolSize"], 2);
    assert_eq!(s["generation"], 1);
    assert_eq!(s["executions"], 4);
    assert_eq!(s["errors"], 1);
    assert_eq!(s["hooks"]["GET /api/s"]["count"], 3);
    assert!(s["hooks"]["GET /api/s"]["p99Ms"].as_f64().is_some());
    let mut m = String::new();
    vm.jsvm.render_metrics(&mut m);
    assert!(m.contains("nebula_jsvm_executions_total 4"), "{m}");
    assert!(m.contains("nebula_jsvm_pool_size 2"), "{m}");
    assert!(
        m.contains(r#"nebula_jsvm_hook_duration_ms_count{hook="GET /api/s"} 3"#),
        "{m}"
    );
}

/// Polls `cond` every 10 ms until it holds, or panics after `within`.
async fn until(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_cron_run_that_expires_in_the_queue_or_is_abandoned_ends() {
    let vm = start_with(
        &[(
            "a.pb.js",
            r#"
            cronAdd("quick", "* * * * *", () => events.emit("quick", 1));
            cronAdd("stuck", "0 0 1 1 *", () => { events.emit("stuck", 1); __block(1500); });
            routerAdd("GET", "/api/busy", (e) => { events.emit("busy", 1); __block(300); e.json(200, {}); });
            "#,
        )],
        |c| {
            c.pool_size = 1;
            c.queue_timeout = Duration::from_millis(50);
        },
    );
    let g = vm.jsvm.current_generation();
    let running = g.pool.shared.stats.cron_running.clone();
    let t0 = utc(std::time::SystemTime::now());
    // The only runtime is busy: the run waits in the queue past queueTimeoutMs.
    let j = vm.jsvm.clone();
    let busy = tokio::spawn(async move { get(&j, "/api/busy").await });
    vm.events.next("busy", SEC).await;
    assert_eq!(g.run_due(t0 + chrono::Duration::minutes(1)), 1);
    assert!(running.is_running("quick"));
    assert_eq!(busy.await.expect("join").status, 200);
    until(SEC, "the expired run ends", || !running.is_running("quick")).await;
    assert_eq!(vm.jsvm.stats()["queueTimeouts"], 1);
    // Not skipped forever: the next minute runs it.
    assert_eq!(g.run_due(t0 + chrono::Duration::minutes(2)), 1);
    assert_eq!(vm.events.next("quick", SEC).await, json!(1));
    until(SEC, "the run ends", || !running.is_running("quick")).await;
    // A run whose worker is abandoned (stuck in native code) ends too.
    assert_eq!(g.run_due(t0 + chrono::Duration::days(366)), 2);
    vm.events.next("stuck", SEC).await;
    until(SEC, "the stuck worker is abandoned", || {
        vm.jsvm.stats()["abandonedWorkers"] == 1
    })
    .await;
    assert!(!running.is_running("stuck"));
}

#[tokio::test]
async fn a_cron_job_does_not_overlap_itself_across_a_reload() {
    let src = r#"cronAdd("job", "* * * * *", async () => { events.emit("job", 1); await sleep(300); events.emit("job-done", 1); });"#;
    let vm = start_with(&[("a.pb.js", src)], |c| {
        c.timeout = Duration::from_secs(2);
    });
    let g1 = vm.jsvm.current_generation();
    let later = utc(std::time::SystemTime::now()) + chrono::Duration::minutes(2);
    assert_eq!(g1.run_due(later), 1);
    vm.events.next("job", SEC).await;
    vm.jsvm.reload().expect("reload");
    let g2 = vm.jsvm.current_generation();
    assert_eq!(g2.id, 2);
    // The new generation schedules from its activation, and skips the job
    // while the old generation's run is still going.
    let next = g2.cron.list()[0].2.expect("scheduled at activation");
    assert!(next > utc(std::time::SystemTime::now()));
    assert_eq!(g2.run_due(later), 0, "still running on generation 1");
    vm.events.next("job-done", SEC).await;
    let running = g2.pool.shared.stats.cron_running.clone();
    until(SEC, "the old run ends", || !running.is_running("job")).await;
    assert_eq!(g2.run_due(later + chrono::Duration::minutes(1)), 1);
    vm.events.next("job", SEC).await;
}

#[tokio::test]
async fn a_fire_and_forget_sleep_does_not_hold_a_slot() {
    let vm = start_with(
        &[(
            "a.pb.js",
            r#"routerAdd("GET", "/api/ff", (e) => { sleep(5000).then(() => events.emit("late", 1)); e.json(200, {}); });
            routerAdd("GET", "/api/ff-async", async (e) => { sleep(5000).then(() => events.emit("late", 2)); await sleep(1); e.json(200, {}); });"#,
        )],
        |c| {
            c.pool_size = 1;
            c.max_async_per_runtime = 1;
            c.timeout = Duration::from_secs(3);
        },
    );
    for path in [
        "/api/ff",
        "/api/ff",
        "/api/ff-async",
        "/api/ff-async",
        "/api/ff",
    ] {
        let t = std::time::Instant::now();
        let r = get(&vm.jsvm, path).await;
        assert_eq!(r.status, 200, "{path}: {}", text(&r));
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "{path} waited {:?}",
            t.elapsed()
        );
    }
}

#[tokio::test]
async fn a_stopping_worker_waits_for_its_timers_instead_of_spinning() {
    let vm = start_with(
        &[(
            "a.pb.js",
            r#"routerAdd("GET", "/api/nap", async (e) => { events.emit("nap", 1); await sleep(300); e.json(200, { ok: 1 }); });"#,
        )],
        |c| {
            c.pool_size = 1;
            c.timeout = Duration::from_secs(2);
        },
    );
    let g = vm.jsvm.current_generation();
    let j = vm.jsvm.clone();
    let nap = tokio::spawn(async move { get(&j, "/api/nap").await });
    vm.events.next("nap", SEC).await;
    g.pool.shared.stop();
    let before = g
        .pool
        .shared
        .loops
        .load(std::sync::atomic::Ordering::Relaxed);
    let r = nap.await.expect("join");
    assert_eq!(
        json(&r),
        json!({"ok": 1}),
        "the sleeping execution still finishes"
    );
    let turns = g
        .pool
        .shared
        .loops
        .load(std::sync::atomic::Ordering::Relaxed)
        - before;
    assert!(
        turns < 20,
        "the worker loop turned {turns} times while stopping"
    );
}
