//! One contract, three backends: mutual exclusion (also under a race),
//! expiry handover, renew and release only by the owner, errors (not
//! `false`) from an unreachable backend. Redis and NATS run against real
//! servers started here (skipped, with the reason printed, when missing).
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::test_servers;
use super::*;
use crate::kernel::{Classify, ErrorKind};

const LONG: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(300);

async fn mutual_exclusion(c: &dyn Coordinator, key: &str) {
    assert!(c.acquire(key, "a", LONG).await.expect("acquire"));
    assert!(
        !c.acquire(key, "b", LONG).await.expect("acquire"),
        "b got a held key"
    );
    assert!(
        !c.acquire(key, "a", LONG).await.expect("acquire"),
        "not re-entrant"
    );
    assert!(c.release(key, "a").await.expect("release"));
    assert!(
        !c.release(key, "a").await.expect("release"),
        "released twice"
    );
    assert!(
        c.acquire(key, "b", LONG).await.expect("acquire"),
        "free after release"
    );
    assert!(c.release(key, "b").await.expect("release"));
}

async fn one_winner_of_a_race(c: Arc<dyn Coordinator>, key: &str) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let c = c.clone();
            let key = key.to_owned();
            tokio::spawn(async move { c.acquire(&key, &format!("n{i}"), LONG).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        if t.await.expect("task").expect("acquire") {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one of 16 racing owners gets the key");
}

async fn expiry_hands_over(c: &dyn Coordinator, key: &str) {
    assert!(c.acquire(key, "a", SHORT).await.expect("acquire"));
    assert!(!c.acquire(key, "b", SHORT).await.expect("acquire"));
    tokio::time::sleep(SHORT + Duration::from_millis(150)).await;
    assert!(
        c.acquire(key, "b", LONG).await.expect("acquire"),
        "b takes the expired lease"
    );
    // a's lease is gone: it can neither renew nor release b's.
    assert!(!c.renew(key, "a", LONG).await.expect("renew"));
    assert!(!c.release(key, "a").await.expect("release"));
    assert!(c.release(key, "b").await.expect("release"));
}

async fn renew_only_by_the_owner(c: &dyn Coordinator, key: &str) {
    assert!(c.acquire(key, "a", SHORT).await.expect("acquire"));
    assert!(
        !c.renew(key, "b", LONG).await.expect("renew"),
        "b renewed a's lease"
    );
    assert!(c.renew(key, "a", LONG).await.expect("renew"));
    // Renewed to LONG: still held after SHORT has passed.
    tokio::time::sleep(SHORT + Duration::from_millis(150)).await;
    assert!(
        !c.acquire(key, "b", LONG).await.expect("acquire"),
        "the renewal held"
    );
    assert!(!c.renew("never-held", "a", LONG).await.expect("renew"));
    assert!(c.release(key, "a").await.expect("release"));
}

async fn release_only_by_the_owner(c: &dyn Coordinator, key: &str) {
    assert!(c.acquire(key, "a", LONG).await.expect("acquire"));
    assert!(
        !c.release(key, "b").await.expect("release"),
        "b released a's lease"
    );
    assert!(
        !c.acquire(key, "b", LONG).await.expect("acquire"),
        "still a's"
    );
    assert!(c.release(key, "a").await.expect("release"));
}

async fn contract(c: Arc<dyn Coordinator>) {
    mutual_exclusion(c.as_ref(), "schedule:Jobs.tick").await;
    one_winner_of_a_race(c.clone(), "race").await;
    expiry_hands_over(c.as_ref(), "expiry").await;
    renew_only_by_the_owner(c.as_ref(), "renew").await;
    release_only_by_the_owner(c.as_ref(), "release").await;
    let bad = c
        .acquire("", "a", LONG)
        .await
        .expect_err("an empty key is refused");
    assert!(bad.to_string().contains("key"), "{bad}");
    assert!(bad.is_bad_input(), "a bad key is the caller's: {bad}");
}

fn build(options: serde_json::Value) -> Arc<dyn Coordinator> {
    CoordConfig::from_json(&options)
        .expect("valid options")
        .build()
        .expect("built")
}

#[tokio::test]
async fn local_contract() {
    contract(Arc::new(LocalCoordinator::new("t:"))).await;
}

#[tokio::test]
async fn local_shared_table_and_prefixes() {
    let a = LocalCoordinator::shared("shared-test:");
    let b = LocalCoordinator::shared("shared-test:");
    let other = LocalCoordinator::shared("other-test:");
    assert!(a.acquire("k", "a", LONG).await.expect("acquire"));
    assert!(
        !b.acquire("k", "b", LONG).await.expect("acquire"),
        "one process-wide table"
    );
    assert!(
        other.acquire("k", "b", LONG).await.expect("acquire"),
        "another prefix is another key"
    );
    assert!(b.release("k", "a").await.expect("release"));
}

#[tokio::test(start_paused = true)]
async fn local_sweeps_expired_leases() {
    let c = LocalCoordinator::new("");
    for i in 0..2000 {
        assert!(c
            .acquire(&format!("k{i}"), "a", SHORT)
            .await
            .expect("acquire"));
    }
    tokio::time::advance(Duration::from_secs(11)).await;
    assert!(c.acquire("fresh", "a", SHORT).await.expect("acquire"));
    assert_eq!(c.held(), 1, "expired leases were swept");
}

#[tokio::test]
async fn redis_contract() {
    let Some(server) = test_servers::redis() else {
        return;
    };
    contract(build(
        json!({"type": "redis", "url": server.url, "prefix": "t:"}),
    ))
    .await;
}

#[tokio::test]
async fn nats_contract() {
    let Some(server) = test_servers::nats() else {
        return;
    };
    contract(build(json!({"type": "nats", "url": server.url}))).await;
    // A second coordinator finds the bucket the first created, and its leases.
    let c = build(json!({"type": "nats", "url": server.url, "timeoutMs": 2000}));
    let d = build(json!({"type": "nats", "url": server.url}));
    assert!(c.acquire("shared", "c", LONG).await.expect("acquire"));
    assert!(!d.acquire("shared", "d", LONG).await.expect("acquire"));
}

#[tokio::test]
async fn unreachable_backends_are_errors_within_the_timeout() {
    for options in test_servers::unreachable_options() {
        let c = build(options.clone());
        let started = Instant::now();
        let err = c.acquire("k", "a", LONG).await.expect_err("nobody listens");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{options}: took {:?}",
            started.elapsed()
        );
        assert!(err.to_string().contains("acquire \"k\""), "{err}");
        assert_eq!(err.kind(), ErrorKind::Failed, "{options}: {err}");
        assert!(c.renew("k", "a", LONG).await.is_err());
        assert!(c.release("k", "a").await.is_err());
    }
}

#[test]
fn options_are_checked_and_errors_name_the_option() {
    let err = |v: serde_json::Value| {
        let e = CoordConfig::from_json(&v).expect_err("invalid");
        assert!(e.is_bad_input(), "{e}");
        e.to_string()
    };
    assert_eq!(
        CoordConfig::from_json(&json!({})).expect("local by default"),
        CoordConfig::Local {
            prefix: String::new(),
            shared: true
        }
    );
    assert!(err(json!({"type": "etcd"})).contains("type"));
    assert!(err(json!({"type": "redis"})).contains("url is required"));
    assert!(err(json!({"type": "redis", "url": "http://x"})).contains("url"));
    assert!(err(json!({"type": "redis", "url": "rediss://x"})).contains("TLS"));
    assert!(err(json!({"type": "nats", "url": "nats://x:1", "bucket": "a.b"})).contains("bucket"));
    assert!(
        err(json!({"type": "nats", "url": "nats://x:1", "timeoutMs": 0})).contains("timeoutMs")
    );
    assert!(err(json!({"type": "local", "url": "redis://x"})).contains("unknown option \"url\""));
    assert!(err(json!({"type": "redis", "url": "redis://x", "prefix": 3})).contains("prefix"));
    match CoordConfig::from_json(&json!({"type": "nats", "url": "nats://h:1"})).expect("valid") {
        CoordConfig::Nats {
            bucket, timeout, ..
        } => {
            assert_eq!(bucket, DEFAULT_BUCKET);
            assert_eq!(timeout, Duration::from_millis(1000));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cron_next_fire_times() {
    // 2025-01-01T00:01:00Z
    let t = 1_735_689_660_000;
    assert_eq!(next_cron_ms("*/5 * * * *", t).ok(), Some(t + 4 * 60_000));
    assert_eq!(
        next_cron_ms("* * * * *", t).ok(),
        Some(t + 60_000),
        "strictly after"
    );
    let six = next_cron_ms("0 */5 * * * *", t).expect_err("6 fields");
    assert!(six.is_bad_input());
    assert!(six.to_string().contains("5 fields"));
    assert!(next_cron_ms("61 * * * *", t).is_err());
}
