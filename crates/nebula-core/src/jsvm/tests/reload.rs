//! Generations: reload, load errors, in-flight requests, the watcher.
use std::time::Duration;

use hyper::Method;
use serde_json::json;

use super::support::{config, get, json, start, start_with, write, Recorder};
use crate::jsvm::Jsvm;

const SEC: Duration = Duration::from_secs(5);

#[tokio::test]
async fn reload_swaps_routes_and_removed_files_disappear() {
    let vm = start(&[
        ("a.pb.js", "routerAdd('GET', '/api/a', (e) => e.json(200, { v: 1 }));"),
        (
            "b.pb.js",
            "routerAdd('GET', '/api/b', (e) => e.json(200, {}));\ncronAdd('job-b', '*/5 * * * *', () => {});\napp.on('ev-b', (e) => {});",
        ),
    ]);
    assert_eq!(vm.jsvm.hooks()["cron"][0]["id"], "job-b");
    assert_eq!(get(&vm.jsvm, "/api/b").await.status, 200);
    std::fs::remove_file(vm.dir.path().join("b.pb.js")).expect("rm");
    write(
        vm.dir.path(),
        &[(
            "a.pb.js",
            "routerAdd('GET', '/api/a', (e) => e.json(200, { v: 2 }));",
        )],
    );
    assert_eq!(vm.jsvm.reload().expect("reload"), 2);
    assert_eq!(vm.jsvm.generation(), 2);
    assert_eq!(json(&get(&vm.jsvm, "/api/a").await), json!({"v": 2}));
    assert!(vm.jsvm.lookup(&Method::GET, "/api/b").is_none());
    let hooks = vm.jsvm.hooks();
    assert_eq!(hooks["cron"], json!([]));
    assert_eq!(hooks["events"], json!([]));
    assert!(
        vm.jsvm.current_generation().cron.list().is_empty(),
        "the cron job is gone"
    );
}

#[tokio::test]
async fn a_syntax_error_keeps_the_previous_generation() {
    let vm = start(&[(
        "a.pb.js",
        "routerAdd('GET', '/api/a', (e) => e.json(200, { v: 1 }));",
    )]);
    write(
        vm.dir.path(),
        &[(
            "bad.pb.js",
            "// fine\nrouterAdd('GET', '/x', (e) => {\n  let = ;\n});\n",
        )],
    );
    let err = vm.jsvm.reload().expect_err("syntax error");
    assert_eq!(err.file, "bad.pb.js");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.col.is_some(), "{err}");
    assert!(err.message.contains("SyntaxError"), "{err}");
    assert_eq!(vm.jsvm.generation(), 1);
    assert_eq!(json(&get(&vm.jsvm, "/api/a").await), json!({"v": 1}));
    let stats = vm.jsvm.stats();
    assert_eq!(stats["lastReloadError"]["file"], "bad.pb.js");
    assert_eq!(stats["lastReloadError"]["line"], 3);
    assert_eq!(stats["reloadErrors"], 1);
    std::fs::remove_file(vm.dir.path().join("bad.pb.js")).expect("rm");
    vm.jsvm.reload().expect("fixed");
    assert_eq!(vm.jsvm.stats()["lastReloadError"], json!(null));
}

#[tokio::test]
async fn load_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &str, u32, &str); 5] = [
        (
            "t.pb.js",
            "const a = 1;\n\n  throw new Error('boom');\n",
            3,
            "boom",
        ),
        (
            "r.pb.js",
            "routerAdd('GET', '/x', () => {});\nrouterAdd('GET', '/x', () => {});\n",
            0,
            "duplicate",
        ),
        (
            "c.pb.js",
            "cronAdd('six', '0 */5 * * * *', () => {});\n",
            1,
            "5 fields",
        ),
        (
            "u.pb.js",
            "routerAdd('GET', '/r/' + utils.uuid(), () => {});\n",
            0,
            "different routes",
        ),
        (
            "l.pb.js",
            "require('../outside.js');\n",
            1,
            "leaves the folder",
        ),
    ];
    for (file, src, line, needle) in cases {
        for f in std::fs::read_dir(dir.path()).expect("ls") {
            std::fs::remove_file(f.expect("entry").path()).expect("rm");
        }
        write(dir.path(), &[(file, src)]);
        let err = match Jsvm::start(config(dir.path()), Recorder::new()) {
            Ok(_) => panic!("{file} should not load"),
            Err(e) => e,
        };
        assert!(err.message.contains(needle), "{file}: {err}");
        if line > 0 {
            assert_eq!(err.file, file, "{err}");
            assert_eq!(err.line, Some(line), "{err}");
        }
    }
}

#[tokio::test]
async fn in_flight_requests_finish_on_their_generation() {
    let src = |v: u32| {
        format!("routerAdd('GET', '/api/v', async (e) => {{ events.emit('in', {v}); await sleep(200); e.json(200, {{ v: {v} }}); }});")
    };
    let vm = start_with(&[("a.pb.js", &src(1))], |c| {
        c.timeout = Duration::from_secs(2)
    });
    let j = vm.jsvm.clone();
    let old = tokio::spawn(async move { get(&j, "/api/v").await });
    assert_eq!(vm.events.next("in", SEC).await, json!(1));
    write(vm.dir.path(), &[("a.pb.js", &src(2))]);
    vm.jsvm.reload().expect("reload");
    assert!(!old.is_finished());
    assert_eq!(json(&get(&vm.jsvm, "/api/v").await), json!({"v": 2}));
    assert_eq!(json(&old.await.expect("join")), json!({"v": 1}));
}

#[tokio::test]
async fn the_watcher_reloads_on_a_file_change() {
    let vm = start_with(
        &[(
            "a.pb.js",
            "routerAdd('GET', '/api/a', (e) => e.json(200, {}));",
        )],
        |c| {
            c.watch = true;
            c.watch_debounce = Duration::from_millis(50);
        },
    );
    write(
        vm.dir.path(),
        &[("n.pb.js", "onBootstrap((e) => { events.emit('new-gen', 1); return e.next(); });\nrouterAdd('GET', '/api/n', (e) => e.json(200, { n: 1 }));")],
    );
    vm.events.next("new-gen", SEC).await;
    assert!(vm.jsvm.generation() >= 2);
    assert_eq!(json(&get(&vm.jsvm, "/api/n").await), json!({"n": 1}));
}
