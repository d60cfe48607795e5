//! A worker must not outlive the engine, even one killed by SIGKILL: the
//! test runs a supervisor in a child process (this test binary again, on
//! the ignored helper test) and kills it.
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::*;

const HELPER_ENV: &str = "NEBULA_GATEWAY_PDEATHSIG_HELPER";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the engine side of workers_die_with_the_engine, run in a child process"]
async fn pdeathsig_helper() {
    let Some(dir) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let options = SupervisorOptions {
        runtime_dir: Some(dir.into()),
    };
    let sup = Supervisor::start(vec![spec("orphan", python("serve"), 1)], options).expect("start");
    let snap = wait_ready(&sup, 1).await;
    println!("WORKER_PID {}", snap[0].pid.expect("pid"));
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn workers_die_with_the_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("the test binary");
    let mut engine = tokio::process::Command::new(exe)
        .args([
            "--exact",
            "gateway::tests::pdeathsig::pdeathsig_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the helper");
    let stdout = engine.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let pid = tokio::time::timeout(T, async {
        while let Some(line) = lines.next_line().await.expect("read") {
            // libtest prints its `test … ...` on the same line.
            if let Some((_, pid)) = line.split_once("WORKER_PID ") {
                return pid.trim().parse::<u32>().ok();
            }
        }
        None
    })
    .await
    .expect("the helper reports its worker")
    .expect("a worker pid");
    assert!(pid_alive(pid));
    engine.kill().await.expect("SIGKILL the engine");
    assert!(wait_exit(pid, T).await, "worker {pid} outlived its engine");
}
