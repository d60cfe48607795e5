//! Crashes: restart with backoff, crash-loop limit, never ready.
use std::time::{Duration, Instant};

use super::*;
use crate::kernel::{Classify, ErrorKind};

fn failed_reason(s: &InstanceStatus) -> Option<&str> {
    match &s.state {
        InstanceState::Failed { reason } => Some(reason),
        _ => None,
    }
}

async fn wait_failed(sup: &Supervisor) -> String {
    let snap = sup
        .wait_for(T, "failed", |s| {
            s.iter().all(|i| failed_reason(i).is_some())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}: {:#?}", sup.snapshot()));
    failed_reason(&snap[0]).unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_restarted() {
    let (_dir, sup) = start(vec![spec("py", python("serve"), 2)]);
    let before = wait_ready(&sup, 2).await;
    let victim = before[0].pid.expect("pid");
    // SAFETY: kill has no memory-safety preconditions; the pid is our child.
    assert_eq!(
        unsafe { libc::kill(victim as libc::pid_t, libc::SIGKILL) },
        0
    );
    let after = sup
        .wait_for(T, "instance 0 back", |s| {
            s[0].is_ready() && s[0].pid.is_some_and(|p| p != victim)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}: {:#?}", sup.snapshot()));
    assert_eq!(after[0].restarts, 1);
    assert_eq!(
        after[0].last_crash.as_deref(),
        Some("killed by signal 9 (SIGKILL)")
    );
    // The other instance was left alone.
    assert_eq!(after[1].pid, before[1].pid);
    assert_eq!(after[1].restarts, 0);
    let ep = &sup.ready_endpoints("py")[0];
    assert_eq!(
        get(&ep.addr, "/").await,
        after[0].pid.expect("pid").to_string()
    );
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_exiting_at_once_ends_in_a_crash_loop() {
    let mut s = spec("quitter", python("exit"), 1);
    s.crash_loop = CrashLoopSpec {
        max_restarts: 3,
        window: Duration::from_secs(60),
    };
    let t0 = Instant::now();
    let (_dir, sup) = start(vec![s]);
    // Every restart is seen on the way (the watch keeps the last value only).
    let mut rx = sup.subscribe();
    let mut attempts = Vec::new();
    let reason = loop {
        let state = rx.borrow_and_update()[0].state.clone();
        match state {
            InstanceState::Restarting { attempt } if attempts.last() != Some(&attempt) => {
                attempts.push(attempt)
            }
            InstanceState::Failed { reason } => break reason,
            _ => {}
        }
        tokio::time::timeout(T, rx.changed())
            .await
            .expect("a change")
            .expect("the supervisor runs");
    };
    assert_eq!(
        reason,
        "gave up after 3 restarts within 60 s: exited with code 3 before it was ready"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert!(attempts.iter().all(|a| (1..=3).contains(a)), "{attempts:?}");
    let last = &sup.snapshot()[0];
    assert_eq!(last.restarts, 3);
    assert_eq!(last.pid, None);
    assert!(sup.ready_endpoints("quitter").is_empty());
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_never_listens_is_not_ready() {
    let mut s = spec("mute", python("never"), 1);
    s.ready_timeout = Duration::from_millis(400);
    s.grace = Duration::from_millis(200);
    s.crash_loop.max_restarts = 0;
    let (_dir, sup) = start(vec![s]);
    let mut pid = None;
    let snap = sup
        .wait_for(T, "failed", |s| {
            pid = pid.or(s[0].pid);
            failed_reason(&s[0]).is_some()
        })
        .await
        .expect("failed");
    assert_eq!(
        failed_reason(&snap[0]),
        Some("gave up after 0 restarts within 60 s: not ready within 400 ms: no socket yet")
    );
    if let Some(pid) = pid {
        assert!(!pid_alive(pid), "the worker that was not ready still runs");
    }
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_worker_is_not_ready() {
    let mut s = spec("sick", python("unhealthy"), 1);
    s.ready_timeout = Duration::from_secs(3);
    s.crash_loop.max_restarts = 0;
    let (_dir, sup) = start(vec![s]);
    let reason = wait_failed(&sup).await;
    assert_eq!(
        reason,
        "gave up after 0 restarts within 60 s: not ready within 3 s: GET /health answered 503"
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_missing_program_fails_at_once() {
    let (_dir, sup) = start(vec![spec("ghost", vec!["/nonexistent/ghost".into()], 1)]);
    let reason = wait_failed(&sup).await;
    assert_eq!(
        reason,
        "cannot be started: cannot start \"/nonexistent/ghost\": No such file or directory (os error 2)"
    );
    assert_eq!(sup.snapshot()[0].restarts, 0);
    // Through the API, a missing program is a failure at run time, not bad input.
    let e = sup
        .restart_rolling("ghost")
        .await
        .expect_err("still missing");
    assert_eq!(e.kind(), ErrorKind::Failed, "{e}");
    assert!(
        e.to_string().ends_with(
            "cannot start \"/nonexistent/ghost\": No such file or directory (os error 2)"
        ),
        "{e}"
    );
    sup.stop().await;
}
