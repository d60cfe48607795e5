//! The supervisor with real worker processes (python3 and node).
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::kernel::Classify;

mod oddities;
mod pdeathsig;
mod restart;
mod rolling;

/// Generous: python3 behind a pyenv shim on a loaded 2-core machine.
pub const T: Duration = Duration::from_secs(20);

pub fn testdata(file: &str) -> String {
    format!("{}/src/gateway/testdata/{file}", env!("CARGO_MANIFEST_DIR"))
}

pub fn python(mode: &str) -> Vec<String> {
    vec!["python3".into(), testdata("worker.py"), mode.into()]
}

/// A spec with quick restarts and a health path.
pub fn spec(name: &str, command: Vec<String>, instances: usize) -> ServiceSpec {
    let mut s = ServiceSpec::new(name, command);
    s.instances = instances;
    s.health_path = Some("/health".into());
    s.ready_timeout = T;
    s.grace = Duration::from_secs(5);
    s.backoff = BackoffSpec {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(80),
    };
    s
}

/// A supervisor whose `auto` sockets go to a fresh temporary directory.
pub fn start(specs: Vec<ServiceSpec>) -> (tempfile::TempDir, Supervisor) {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SupervisorOptions {
        runtime_dir: Some(dir.path().to_path_buf()),
    };
    let sup = Supervisor::start(specs, options).expect("start");
    (dir, sup)
}

pub async fn wait_ready(sup: &Supervisor, n: usize) -> Vec<InstanceStatus> {
    sup.wait_for(T, "all ready", |s| {
        s.iter().filter(|i| i.is_ready()).count() == n
    })
    .await
    .unwrap_or_else(|e| panic!("{e}: {:#?}", sup.snapshot()))
}

/// `GET path` over the worker's socket; the body.
pub async fn get(addr: &EndpointAddr, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    match addr {
        EndpointAddr::Unix(p) => {
            let mut s = tokio::net::UnixStream::connect(p).await.expect("connect");
            s.write_all(request.as_bytes()).await.expect("write");
            s.read_to_end(&mut answer).await.expect("read");
        }
        EndpointAddr::Tcp { host, port } => {
            let mut s = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .expect("connect");
            s.write_all(request.as_bytes()).await.expect("write");
            s.read_to_end(&mut answer).await.expect("read");
        }
    }
    let text = String::from_utf8(answer).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1."), "{head}");
    body.to_string()
}

/// Whether `pid` runs (a zombie does not).
pub fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let exists = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    exists && proc_stat(pid).is_none_or(|(state, _)| state != 'Z')
}

/// State and process group of `pid` from /proc.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    Some((state, pgrp))
}

/// Live (not zombie) members of process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| proc_stat(*pid).is_some_and(|(state, pgrp)| pgrp == pgid && state != 'Z'))
        .collect()
}

/// Waits until no live process is left in group `pgid`. Polls: a group
/// has no event to await (its members are not our children).
pub async fn wait_group_gone(pgid: u32, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while !group_members(pgid).is_empty() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// Waits until `pid` (not necessarily our child) has exited: a pidfd
/// becomes readable then.
pub async fn wait_exit(pid: u32, timeout: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return !pid_alive(pid);
    }
    // SAFETY: the fd was just returned by pidfd_open and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: the OwnedFd moves into the AsyncFd and stays open, the same fd, until it is dropped.
    let fd = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
    }
    .expect("register the pidfd");
    tokio::time::timeout(timeout, fd.readable()).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_python_instances_become_ready_and_answer() {
    let (dir, sup) = start(vec![spec("py", python("serve"), 2)]);
    let snap = wait_ready(&sup, 2).await;
    let eps = sup.ready_endpoints("py");
    let addrs: Vec<_> = eps.iter().map(|e| e.addr.clone()).collect();
    assert_eq!(
        addrs,
        [
            EndpointAddr::Unix(dir.path().join("py-0.sock")),
            EndpointAddr::Unix(dir.path().join("py-1.sock")),
        ]
    );
    assert_eq!(sup.watch_endpoints("py").expect("known").borrow().len(), 2);
    for (ep, status) in eps.iter().zip(&snap) {
        assert_eq!((ep.instance, ep.generation), (status.instance, 0));
        assert_eq!(status.restarts, 0);
        assert!(status.started_at.is_some());
        let pid = status.pid.expect("a pid");
        assert_eq!(get(&ep.addr, "/").await, pid.to_string());
    }
    assert!(sup.ready_endpoints("nope").is_empty());
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_worker_becomes_ready() {
    // The core needs no Node: this test runs a worker written for Node, when
    // there is one to run it with.
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping a_node_worker_becomes_ready: no `node` on PATH to run the worker");
        return;
    }
    let (_dir, sup) = start(vec![spec(
        "node",
        vec!["node".into(), testdata("worker.js")],
        1,
    )]);
    let snap = wait_ready(&sup, 1).await;
    let ep = &sup.ready_endpoints("node")[0];
    assert_eq!(
        get(&ep.addr, "/").await,
        snap[0].pid.expect("pid").to_string()
    );
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_worker_gets_host_and_port() {
    // Two free ports in a row (instance 0 and its rolling-restart twin).
    let port = (0..50)
        .find_map(|_| {
            let a = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            let port = a.local_addr().ok()?.port();
            std::net::TcpListener::bind(("127.0.0.1", port.checked_add(1)?)).ok()?;
            Some(port)
        })
        .expect("free ports");
    let mut s = spec("tcp", python("serve"), 1);
    s.socket = SocketSpec::Tcp {
        host: "127.0.0.1".into(),
        port,
    };
    let (_dir, sup) = start(vec![s]);
    let snap = wait_ready(&sup, 1).await;
    let ep = &sup.ready_endpoints("tcp")[0];
    assert_eq!(
        ep.addr,
        EndpointAddr::Tcp {
            host: "127.0.0.1".into(),
            port
        }
    );
    assert_eq!(
        get(&ep.addr, "/").await,
        snap[0].pid.expect("pid").to_string()
    );
    sup.restart_rolling("tcp").await.expect("rolling restart");
    let ep = &sup.ready_endpoints("tcp")[0];
    assert_eq!(ep.generation, 1);
    assert_eq!(
        ep.addr,
        EndpointAddr::Tcp {
            host: "127.0.0.1".into(),
            port: port + 1
        }
    );
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_every_process_and_removes_the_sockets() {
    let mut stubborn = spec("stubborn", python("ignore-term"), 1);
    stubborn.grace = Duration::from_millis(300);
    let (dir, sup) = start(vec![spec("py", python("serve"), 2), stubborn]);
    let snap = wait_ready(&sup, 3).await;
    let pids: Vec<u32> = snap.iter().filter_map(|s| s.pid).collect();
    assert_eq!(pids.len(), 3);
    let sockets = || {
        std::fs::read_dir(dir.path())
            .expect("runtime dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sock"))
            })
            .count()
    };
    assert_eq!(sockets(), 3);
    sup.stop().await;
    for pid in &pids {
        assert!(!pid_alive(*pid), "pid {pid} survived stop");
        assert!(wait_group_gone(*pid, T).await, "group {pid} survived stop");
    }
    assert_eq!(sockets(), 0);
    assert!(sup
        .snapshot()
        .iter()
        .all(|s| s.state == InstanceState::Stopped && s.pid.is_none()));
    assert!(sup.ready_endpoints("py").is_empty());
    // Again: nothing left to do.
    sup.stop().await;
    assert!(matches!(
        sup.restart_rolling("py").await,
        Err(GatewayError::Stopped)
    ));
}

#[tokio::test]
async fn bad_setups_are_refused_before_anything_starts() {
    let long = tempfile::tempdir().expect("tempdir");
    let deep = long.path().join("d".repeat(90));
    let err = |specs, dir: &std::path::Path| {
        let e = Supervisor::start(
            specs,
            SupervisorOptions {
                runtime_dir: Some(dir.to_path_buf()),
            },
        )
        .err()
        .expect("an error");
        assert!(e.is_bad_input(), "a bad setup is the caller's: {e}");
        e.to_string()
    };
    let e = err(vec![spec("py", python("serve"), 1)], &deep);
    assert!(e.starts_with("gateway: py: socket path /"), "{e}");
    assert!(e.contains("a Unix socket path can have at most 107"), "{e}");
    let e = err(
        vec![spec("a", python("serve"), 1), spec("a", python("serve"), 1)],
        long.path(),
    );
    assert_eq!(e, "gateway: a: two services have this name");
    let e = err(vec![spec("../a", python("serve"), 1)], long.path());
    assert!(
        e.starts_with("gateway: \"../a\": a service name must be"),
        "{e}"
    );
    let mut bad = spec("a", python("serve"), 1);
    bad.health_path = Some("/x HTTP/1.1\r\nHost: evil".into());
    let e = err(vec![bad], long.path());
    assert!(
        e.starts_with("gateway: a: the health path must start with /"),
        "{e}"
    );
    let (_dir, sup) = start(vec![]);
    let unknown = sup.restart_rolling("x").await.expect_err("no such service");
    assert!(
        matches!(&unknown, GatewayError::UnknownService(s) if s == "x"),
        "{unknown}"
    );
    assert!(unknown.is_bad_input());
}
