//! Throwaway `redis-server` / `nats-server -js` for the coordinator tests: a
//! free port, nothing kept (NATS' store in a temporary folder), killed on
//! drop. Missing binaries make the tests skip with a printed reason.
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Server {
    child: Child,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why `binary` cannot run here, if it cannot.
fn missing(binary: &str) -> Option<String> {
    match Command::new(binary).arg("--version").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("{binary} --version exited with {}", out.status)),
        Err(e) => Some(format!("{binary} is not on PATH ({e})")),
    }
}

fn free_port() -> Option<u16> {
    let l = TcpListener::bind("127.0.0.1:0").ok()?;
    Some(l.local_addr().ok()?.port())
}

/// Forwards a pipe's lines to `tx` until it closes (so the server never blocks on it).
fn drain(pipe: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            // The receiver stops listening once the server is ready.
            let _ = tx.send(line);
        }
    });
}

fn launch(binary: &str, args: &[String], ready: &str) -> Result<Child, String> {
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{binary}: {e}"))?;
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        drain(out, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        drain(err, tx);
    }
    let mut seen = String::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.contains(ready) => return Ok(child),
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{binary} did not get ready:\n{seen}"));
            }
        }
    }
}

/// The server, or None (printed) when its binary is missing. A server that
/// is installed but fails to start is a test failure.
fn start(
    binary: &str,
    what: &str,
    make: impl FnOnce(u16) -> (Vec<String>, &'static str, String, Option<tempfile::TempDir>),
) -> Option<Server> {
    if let Some(why) = missing(binary) {
        eprintln!("skipping the {what} coordinator test: {why}; install {what} to run it");
        return None;
    }
    let port = free_port().expect("a free local port");
    let (args, ready, url, dir) = make(port);
    let child = launch(binary, &args, ready).expect("the test server starts");
    Some(Server {
        child,
        url,
        _dir: dir,
    })
}

pub fn redis() -> Option<Server> {
    start("redis-server", "Redis", |port| {
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .map(String::from)
        .to_vec();
        (
            args,
            "Ready to accept connections",
            format!("redis://127.0.0.1:{port}"),
            None,
        )
    })
}

pub fn nats() -> Option<Server> {
    start("nats-server", "NATS", |port| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let args = vec![
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-js".into(),
            "-sd".into(),
            dir.path().display().to_string(),
        ];
        (
            args,
            "Server is ready",
            format!("nats://127.0.0.1:{port}"),
            Some(dir),
        )
    })
}

/// Options of a Redis and of a NATS backend at a port where nobody listens,
/// with a short timeout: for the tests of unreachable backends.
pub fn unreachable_options() -> [serde_json::Value; 2] {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    [
        serde_json::json!({"type": "redis", "url": format!("redis://127.0.0.1:{port}"), "timeoutMs": 300}),
        serde_json::json!({"type": "nats", "url": format!("nats://127.0.0.1:{port}"), "timeoutMs": 300}),
    ]
}
