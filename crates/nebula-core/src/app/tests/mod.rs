//! The app through its public API, over real sockets, with real worker
//! processes (python3, as the gateway's tests) and real hook scripts. The
//! test plays the JavaScript side: its wakers signal it, it takes the queues.
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::*;
use crate::support::wake_queue::WakeRefused;

mod queues;
mod start;
mod stop;

/// Guard against hangs when awaiting something that should happen soon
/// (python3 behind a pyenv shim on a loaded 2-core machine is slow to start).
const GUARD: Duration = Duration::from_secs(20);

/// A waker that tells the test, which then takes the queue.
fn signal() -> (impl Waker, Arc<Notify>) {
    let woken = Arc::new(Notify::new());
    let tell = woken.clone();
    let waker = move || -> Result<(), WakeRefused> {
        tell.notify_one();
        Ok(())
    };
    (waker, woken)
}

/// A waker for a queue the test never takes.
fn ignored() -> impl Waker {
    || Ok(())
}

/// Builds `app` (wake-ups ignored) and serves it on a free loopback port.
async fn serve(app: &mut App) -> u16 {
    app.build(ignored()).expect("built");
    app.listen("127.0.0.1".into(), 0, ())
        .expect("built")
        .await
        .expect("listening")
}

async fn woken(n: &Notify) {
    tokio::time::timeout(GUARD, n.notified())
        .await
        .expect("no wake-up came");
}

/// Runs `f` when dropped: what the app holds while its server listens.
struct OnDrop(Option<Box<dyn FnOnce() + Send>>);

impl OnDrop {
    fn new(f: impl FnOnce() + Send + 'static) -> OnDrop {
        OnDrop(Some(Box::new(f)))
    }
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

fn worker_py() -> String {
    format!(
        "{}/src/gateway/testdata/worker.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A gateway with one python3 worker behind `/py/*`, its socket in `runtime_dir`.
fn gateway(runtime_dir: &Path) -> Arc<Gateway> {
    let options = json!({
        "runtimeDir": runtime_dir,
        "services": [{
            "name": "py",
            "command": ["python3", worker_py()],
            "routes": ["/py/*"],
            "healthPath": "/health",
        }],
    });
    Arc::new(Gateway::from_json(&options).expect("gateway options"))
}

/// How many worker instances the gateway supervises (none once it stopped).
fn workers(gateway: &Gateway) -> usize {
    gateway.status()["services"][0]["instances"]
        .as_array()
        .map_or(0, Vec::len)
}

/// A script VM config over `dir`, with `files` written into it.
fn scripts(dir: &Path, files: &[(&str, &str)]) -> JsvmConfig {
    for (name, src) in files {
        std::fs::write(dir.join(name), src).expect("write hook file");
    }
    let mut c = JsvmConfig::new(dir);
    c.pool_size = 1;
    c
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Opens a WebSocket on `path`; panics unless the server answers 101.
async fn ws_open(port: u16, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(local(port)).await.expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(GUARD, s.read(&mut byte))
            .await
            .expect("the handshake's answer")
            .expect("read");
        assert_eq!(n, 1, "closed during the handshake: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s
}

/// Reads server frames until a close frame; its status code.
async fn ws_close_code(s: &mut TcpStream) -> u16 {
    loop {
        let mut h = [0u8; 2];
        tokio::time::timeout(GUARD, s.read_exact(&mut h))
            .await
            .expect("a frame")
            .expect("read a frame head");
        let len = match h[1] & 0x7f {
            126 => {
                let mut l = [0u8; 2];
                s.read_exact(&mut l).await.expect("length");
                usize::from(u16::from_be_bytes(l))
            }
            127 => {
                let mut l = [0u8; 8];
                s.read_exact(&mut l).await.expect("length");
                usize::try_from(u64::from_be_bytes(l)).expect("a length")
            }
            n => usize::from(n),
        };
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await.expect("payload");
        if h[0] & 0x0f == 0x8 {
            assert!(payload.len() >= 2, "a close frame with a code");
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

/// `GET path` on a fresh connection: the status code.
async fn http_status(port: u16, path: &str) -> u16 {
    let mut s = TcpStream::connect(local(port)).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(GUARD, s.read_to_end(&mut answer))
        .await
        .expect("an answer")
        .expect("read");
    let text = String::from_utf8_lossy(&answer);
    text.get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
}

/// Nothing listens on `port` any more.
async fn refused(port: u16) -> bool {
    matches!(
        TcpStream::connect(local(port)).await,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

/// The script events taken so far, by name.
fn names(events: &[ScriptEvent]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

fn data(events: &[ScriptEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|(_, d)| serde_json::from_str(d).expect("JSON data"))
        .collect()
}
