//! The config store's contract, on each backend: two stores on one backend
//! are two nodes; a change made by one reaches the other's watch, in order,
//! with the value it replaced. Redis and NATS run against servers started
//! here (skipped, with the reason printed, when missing).
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Notify;

use super::test_servers;
use super::*;
use crate::kernel::{Classify, ErrorKind};
use crate::support::wake_queue::WakeRefused;

const WAIT: Duration = Duration::from_secs(5);

/// A feed whose wake-ups notify the test.
fn feed(items: usize) -> (Arc<ChangeFeed>, Arc<Notify>) {
    let notify = Arc::new(Notify::new());
    let n = notify.clone();
    let feed = ChangeFeed::new(
        items,
        1 << 20,
        move || -> std::result::Result<(), WakeRefused> {
            n.notify_one();
            Ok(())
        },
    );
    (feed, notify)
}

/// Waits for `count` changes (fails after WAIT).
async fn changes(feed: &ChangeFeed, notify: &Notify, count: usize) -> Vec<ConfigChange> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while got.len() < count {
        got.extend(feed.take().changes);
        if got.len() >= count {
            break;
        }
        if tokio::time::timeout_at(deadline, notify.notified())
            .await
            .is_err()
        {
            panic!("waited {WAIT:?} for {count} changes, got {got:?}");
        }
    }
    got
}

fn change(key: &str, value: Option<&str>, old: Option<&str>) -> ConfigChange {
    ConfigChange {
        key: key.into(),
        value: value.map(Into::into),
        old: old.map(Into::into),
    }
}

async fn contract(a: Arc<dyn ConfigStore>, b: Arc<dyn ConfigStore>) {
    // b watches "svc/"; a writes.
    let (fb, nb) = feed(100);
    let watching = b.watch("svc/", fb.clone()).await.expect("watch");

    assert_eq!(a.get("svc/x").await.expect("get"), None);
    assert!(a.create("svc/x", "1").await.expect("create"));
    assert!(
        !b.create("svc/x", "2").await.expect("create"),
        "create only when absent"
    );
    a.set("svc/x", "3").await.expect("set");
    a.set("other/y", "ignored").await.expect("set");
    assert_eq!(b.get("svc/x").await.expect("get").as_deref(), Some("3"));
    assert!(a.delete("svc/x").await.expect("delete"));
    assert!(!a.delete("svc/x").await.expect("delete"), "already gone");
    let seen = changes(&fb, &nb, 3).await;
    assert_eq!(
        seen,
        vec![
            change("svc/x", Some("1"), None),
            change("svc/x", Some("3"), Some("1")),
            change("svc/x", None, Some("3")),
        ],
        "b sees a's changes in order, with the values replaced"
    );

    // Lists by prefix, sorted, without the store's prefix.
    for (k, v) in [
        ("svc/b", "2"),
        ("svc/a", "1"),
        ("svc*/odd", "3"),
        ("sv", "4"),
    ] {
        a.set(k, v).await.expect("set");
    }
    assert_eq!(
        b.list("svc/").await.expect("list"),
        vec![("svc/a".into(), "1".into()), ("svc/b".into(), "2".into())]
    );
    let all = b.list("").await.expect("list");
    assert!(all.len() >= 5, "{all:?}");

    // Values are kept as written (text of any kind).
    let odd = "{\"ünï\":\"\\u0000 / \\\"q\\\" ✓\"}";
    a.set("svc/odd", odd).await.expect("set");
    assert_eq!(b.get("svc/odd").await.expect("get").as_deref(), Some(odd));

    // Dropping the watch ends it.
    changes(&fb, &nb, 3).await;
    drop(watching);
    a.set("svc/after", "x").await.expect("set");
    b.get("svc/after").await.expect("get");
    tokio::time::sleep(Duration::from_millis(200)).await; // nothing to await: a change that must not come
    assert!(
        fb.take().changes.is_empty(),
        "no change after the watch ended"
    );

    // Bad arguments are the caller's, named.
    let err = a.set("", "v").await.expect_err("empty key");
    assert!(err.to_string().contains("key"), "{err}");
    assert!(err.is_bad_input(), "{err}");
    let big = "x".repeat(MAX_VALUE + 1);
    let err = a.set("svc/big", &big).await.expect_err("too big");
    assert!(err.to_string().contains("512 KiB"), "{err}");
    assert!(err.is_bad_input(), "{err}");
}

fn build(options: serde_json::Value) -> Arc<dyn ConfigStore> {
    CoordConfig::config_store_from_json(&options)
        .expect("valid options")
        .build_config_store()
        .expect("built")
}

#[tokio::test]
async fn local_contract() {
    let a = LocalConfigStore::new("t:");
    contract(Arc::new(a.clone()), Arc::new(a)).await;
}

#[tokio::test]
async fn local_shared_store_and_private_ones() {
    let a = build(json!({"type": "local", "prefix": "shared-config-test:"}));
    let b = build(json!({"type": "local", "prefix": "shared-config-test:"}));
    let other = build(json!({"type": "local", "prefix": "other-config-test:"}));
    let private = LocalConfigStore::new("shared-config-test:");
    a.set("k", "v").await.expect("set");
    assert_eq!(
        b.get("k").await.expect("get").as_deref(),
        Some("v"),
        "one process-wide store"
    );
    assert_eq!(other.get("k").await.expect("get"), None, "another prefix");
    assert_eq!(
        private.get("k").await.expect("get"),
        None,
        "a private store"
    );
}

#[tokio::test]
async fn a_full_feed_drops_changes_and_says_so() {
    let store = LocalConfigStore::new("");
    let (f, _n) = feed(2);
    let _w = store.watch("", f.clone()).await.expect("watch");
    for i in 0..5 {
        store.set("k", &i.to_string()).await.expect("set");
    }
    let taken = f.take();
    assert_eq!(taken.changes.len(), 2, "bounded");
    assert!(taken.lagged, "the owner is told to read again");
    assert!(!f.take().lagged, "told once");
}

#[tokio::test]
async fn redis_contract() {
    let Some(server) = test_servers::redis() else {
        return;
    };
    let a = build(json!({"type": "redis", "url": server.url, "prefix": "t:"}));
    let b = build(json!({"type": "redis", "url": server.url, "prefix": "t:"}));
    contract(a, b).await;
}

#[tokio::test]
async fn nats_contract() {
    let Some(server) = test_servers::nats() else {
        return;
    };
    let a = build(json!({"type": "nats", "url": server.url, "timeoutMs": 3000}));
    let b = build(json!({"type": "nats", "url": server.url, "timeoutMs": 3000}));
    contract(a, b).await;
    // A watch started later gives old values from what the bucket held.
    let c = build(json!({"type": "nats", "url": server.url, "timeoutMs": 3000}));
    let (f, n) = feed(10);
    let _w = c.watch("svc/a", f.clone()).await.expect("watch");
    b_set(&c, "svc/a", "9").await;
    assert_eq!(
        changes(&f, &n, 1).await,
        vec![change("svc/a", Some("9"), Some("1"))]
    );
}

async fn b_set(s: &Arc<dyn ConfigStore>, k: &str, v: &str) {
    s.set(k, v).await.expect("set");
}

#[tokio::test]
async fn nats_default_bucket_is_the_config_one() {
    let c = CoordConfig::config_store_from_json(
        &json!({"type": "nats", "url": "nats://127.0.0.1:4222"}),
    )
    .expect("valid");
    assert!(
        matches!(c, CoordConfig::Nats { ref bucket, .. } if bucket == DEFAULT_CONFIG_BUCKET),
        "{c:?}"
    );
    let c = CoordConfig::config_store_from_json(
        &json!({"type": "nats", "url": "nats://127.0.0.1:4222", "bucket": "mine"}),
    )
    .expect("valid");
    assert!(
        matches!(c, CoordConfig::Nats { ref bucket, .. } if bucket == "mine"),
        "{c:?}"
    );
}

#[tokio::test]
async fn unreachable_backends_are_errors_within_the_timeout() {
    for options in test_servers::unreachable_options() {
        let s = build(options.clone());
        let started = Instant::now();
        let err = s.set("k", "v").await.expect_err("nobody listens");
        assert_eq!(err.kind(), ErrorKind::Failed, "{options}: {err}");
        let (f, _) = feed(1);
        let err = s.watch("", f).await.err().expect("nobody listens");
        assert_eq!(err.kind(), ErrorKind::Failed, "{options}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{options}: took {:?}",
            started.elapsed()
        );
    }
}
