//! Helpers: hook files in a tempdir, a recording event sink, requests.
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use parking_lot::Mutex;
use tempfile::TempDir;
use tokio::sync::mpsc;

use crate::jsvm::{HookRequest, Jsvm, JsvmConfig, JsvmEvents};
use crate::kernel::Reply;

/// Records `events.emit` calls and lets a test await them.
pub struct Recorder {
    tx: mpsc::Sender<(String, String)>,
    rx: Mutex<Option<mpsc::Receiver<(String, String)>>>,
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        let (tx, rx) = mpsc::channel(4096);
        Arc::new(Recorder {
            tx,
            rx: Mutex::new(Some(rx)),
        })
    }

    /// The next emitted event named `name` (others are skipped), or panics after `within`.
    pub async fn next(&self, name: &str, within: Duration) -> serde_json::Value {
        let mut rx = self.rx.lock().take().expect("one waiter at a time");
        let got = tokio::time::timeout(within, async {
            while let Some((n, data)) = rx.recv().await {
                if n == name {
                    return serde_json::from_str(&data).ok();
                }
            }
            None
        })
        .await;
        *self.rx.lock() = Some(rx);
        match got {
            Ok(Some(v)) => v,
            _ => panic!("no event {name:?} within {within:?}"),
        }
    }
}

impl JsvmEvents for Recorder {
    fn emitted(&self, name: &str, data_json: &str) {
        let _ = self.tx.try_send((name.to_owned(), data_json.to_owned()));
    }
}

pub fn write(dir: &std::path::Path, files: &[(&str, &str)]) {
    for (name, src) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, src).expect("write hook file");
    }
}

/// Small limits for tests: 2 runtimes, 300 ms, 32 MB.
pub fn config(dir: &std::path::Path) -> JsvmConfig {
    let mut c = JsvmConfig::new(dir);
    c.pool_size = 2;
    c.timeout = Duration::from_millis(300);
    c.memory_limit_mb = 32;
    c.queue_timeout = Duration::from_secs(2);
    c
}

pub struct Vm {
    pub dir: TempDir,
    pub jsvm: Arc<Jsvm>,
    pub events: Arc<Recorder>,
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.jsvm.shutdown();
    }
}

pub fn start_with(files: &[(&str, &str)], tune: impl FnOnce(&mut JsvmConfig)) -> Vm {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), files);
    let mut c = config(dir.path());
    tune(&mut c);
    let events = Recorder::new();
    let jsvm = Jsvm::start(c, events.clone()).unwrap_or_else(|e| panic!("load error: {e}"));
    Vm { dir, jsvm, events }
}

pub fn start(files: &[(&str, &str)]) -> Vm {
    start_with(files, |_| {})
}

pub struct Req<'a> {
    pub method: Method,
    pub target: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a str,
    pub locals: Vec<(String, serde_json::Value)>,
}

impl<'a> Req<'a> {
    pub fn get(target: &'a str) -> Req<'a> {
        Req {
            method: Method::GET,
            target,
            headers: Vec::new(),
            body: "",
            locals: Vec::new(),
        }
    }
}

/// Looks the route up and calls it; None when no hook route matches.
pub async fn send(jsvm: &Jsvm, r: Req<'_>) -> Option<Reply> {
    let path = r.target.split('?').next().unwrap_or("");
    let route = jsvm.lookup(&r.method, path)?;
    let mut headers = HeaderMap::new();
    for (k, v) in r.headers {
        headers.append(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            v.parse().expect("header value"),
        );
    }
    let req = HookRequest {
        method: r.method,
        target: r.target.into(),
        headers: std::sync::Arc::new(headers),
        body: Bytes::from(r.body.to_owned()),
        locals: r.locals,
        peer: None,
    };
    Some(jsvm.call(&route, req).await)
}

pub async fn get(jsvm: &Jsvm, target: &str) -> Reply {
    get_with(jsvm, target, &[]).await
}

/// [`send`], for a route that must exist.
pub async fn call(jsvm: &Jsvm, r: Req<'_>) -> Reply {
    let target = r.target.to_owned();
    send(jsvm, r)
        .await
        .unwrap_or_else(|| panic!("no hook route for {target}"))
}

/// A POST of `body` (no headers).
pub async fn post(jsvm: &Jsvm, target: &str, body: &str) -> Reply {
    let r = Req {
        method: Method::POST,
        body,
        ..Req::get(target)
    };
    call(jsvm, r).await
}

/// A GET with these request headers.
pub async fn get_with(jsvm: &Jsvm, target: &str, headers: &[(&str, &str)]) -> Reply {
    let r = Req {
        headers: headers.to_vec(),
        ..Req::get(target)
    };
    call(jsvm, r).await
}

pub fn json(r: &Reply) -> serde_json::Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&r.body)))
}

pub fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}
