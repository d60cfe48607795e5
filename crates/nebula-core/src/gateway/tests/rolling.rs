//! Rolling restart: new workers first, the old ones drain, then stop.
use std::sync::Arc;

use tokio::sync::oneshot;

use super::*;
use crate::kernel::{Classify, ErrorKind};

/// Records the fewest ready endpoints seen until told to stop.
fn watch_min(
    sup: &Supervisor,
    service: &str,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<usize>) {
    let mut rx = sup.watch_endpoints(service).expect("known service");
    let (done, mut until) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut min = rx.borrow_and_update().len();
        loop {
            tokio::select! {
                _ = &mut until => return min,
                changed = rx.changed() => {
                    if changed.is_err() {
                        return min;
                    }
                    min = min.min(rx.borrow_and_update().len());
                }
            }
        }
    });
    (done, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_replaces_every_worker_without_a_gap() {
    let (dir, sup) = start(vec![spec("py", python("serve"), 2)]);
    let sup = Arc::new(sup);
    let before = wait_ready(&sup, 2).await;
    let old_pids: Vec<u32> = before.iter().filter_map(|s| s.pid).collect();
    let (done, min) = watch_min(&sup, "py");
    // A request in flight on the old instance 0 holds its stop back.
    let old0 = sup.ready_endpoints("py")[0].clone();
    let request = old0.enter();
    let rolling = tokio::spawn({
        let sup = Arc::clone(&sup);
        async move { sup.restart_rolling("py").await }
    });
    let draining = sup
        .wait_for(T, "old instance 0 draining", |s| {
            s.iter()
                .any(|i| i.generation == 0 && i.instance == 0 && i.state == InstanceState::Draining)
        })
        .await
        .expect("draining");
    assert!(pid_alive(old_pids[0]), "stopped with a request in flight");
    let eps: Vec<(usize, u64)> = sup
        .ready_endpoints("py")
        .iter()
        .map(|e| (e.instance, e.generation))
        .collect();
    assert_eq!(eps, [(0, 1), (1, 0)], "{draining:#?}");
    drop(request);
    rolling.await.expect("task").expect("rolling restart");
    let _ = done.send(());
    assert!(
        min.await.expect("watcher") >= 1,
        "a moment without a ready endpoint"
    );

    let after = sup.snapshot();
    assert_eq!(after.len(), 2, "{after:#?}");
    for (status, old) in after.iter().zip(&old_pids) {
        assert_eq!(status.generation, 1);
        assert!(status.is_ready());
        assert_eq!(status.restarts, 0);
        assert_ne!(status.pid, Some(*old));
        assert!(!pid_alive(*old), "old pid {old} still runs");
        let name = format!("py-{}.b.sock", status.instance);
        assert_eq!(status.addr, EndpointAddr::Unix(dir.path().join(name)));
        assert_eq!(
            get(&status.addr, "/").await,
            status.pid.expect("pid").to_string()
        );
    }
    // The old sockets are gone; the next rolling restart uses them again.
    assert!(!dir.path().join("py-0.sock").exists());
    sup.restart_rolling("py")
        .await
        .expect("second rolling restart");
    let again = sup.snapshot();
    assert!(again.iter().all(|s| s.generation == 2 && s.is_ready()));
    assert_eq!(
        again[0].addr,
        EndpointAddr::Unix(dir.path().join("py-0.sock"))
    );
    assert!(!dir.path().join("py-0.b.sock").exists());
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_worker_that_fails_leaves_the_old_one_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("refuse");
    let script = format!(
        "if [ -e \"$REFUSE\" ]; then echo refusing; exit 4; fi; exec python3 '{}' serve",
        testdata("worker.py")
    );
    let mut s = spec("py", vec!["sh".into(), "-c".into(), script], 2);
    s.env = vec![("REFUSE".into(), flag.display().to_string())];
    let (run, sup) = start(vec![s]);
    let before = wait_ready(&sup, 2).await;
    std::fs::write(&flag, "").expect("flag");
    let e = sup.restart_rolling("py").await.expect_err("must fail");
    assert!(
        matches!(
            &e,
            GatewayError::RollingRestart { service, instance: 0, reason }
                if service == "py" && reason == "exited with code 4 before it was ready"
        ),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Failed);
    assert_eq!(
        e.to_string(),
        "gateway: rolling restart of py#0 failed, the old instance keeps serving: exited with code 4 before it was ready"
    );
    assert_eq!(sup.snapshot(), before);
    assert_eq!(sup.ready_endpoints("py").len(), 2);
    assert!(!run.path().join("py-0.b.sock").exists());
    // Once the cause is gone it works.
    std::fs::remove_file(&flag).expect("flag");
    sup.restart_rolling("py").await.expect("rolling restart");
    assert!(sup
        .snapshot()
        .iter()
        .all(|s| s.generation == 1 && s.is_ready()));
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_instance_is_revived_by_a_rolling_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("refuse");
    std::fs::write(&flag, "").expect("flag");
    let script = format!(
        "if [ -e \"$REFUSE\" ]; then exit 4; fi; exec python3 '{}' serve",
        testdata("worker.py")
    );
    let mut s = spec("py", vec!["sh".into(), "-c".into(), script], 1);
    s.env = vec![("REFUSE".into(), flag.display().to_string())];
    s.crash_loop.max_restarts = 1;
    let (_run, sup) = start(vec![s]);
    sup.wait_for(T, "failed", |s| {
        matches!(s[0].state, InstanceState::Failed { .. })
    })
    .await
    .expect("failed");
    std::fs::remove_file(&flag).expect("flag");
    sup.restart_rolling("py").await.expect("rolling restart");
    let snap = sup.snapshot();
    assert_eq!(snap.len(), 1, "{snap:#?}");
    assert!(snap[0].is_ready() && snap[0].generation == 1);
    sup.stop().await;
}
