//! Shared helpers for the HTTP integration tests: a channel-backed
//! dispatcher, body readers and a raw HTTP/1.1 client over `TcpStream`.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use nebula_core::http::body::Body;
use nebula_core::http::{
    DispatchError, Dispatcher, JsRequest, JsResponse, Service, ServiceBuilder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Guard against hangs when awaiting an event that should happen soon.
pub const GUARD: Duration = Duration::from_secs(5);

/// Hands every request to the test through a channel.
pub struct ChanDispatcher(pub mpsc::UnboundedSender<JsRequest>);

impl Dispatcher for ChanDispatcher {
    fn dispatch(&self, req: JsRequest) -> Result<(), DispatchError> {
        self.0
            .send(req)
            .map_err(|_| DispatchError("test receiver gone".into()))
    }
}

/// Refuses every request.
pub struct FailingDispatcher;

impl Dispatcher for FailingDispatcher {
    fn dispatch(&self, _req: JsRequest) -> Result<(), DispatchError> {
        Err(DispatchError("handler pool is closed".into()))
    }
}

/// Builds the service with a [`ChanDispatcher`]; returns the request receiver.
pub fn build(b: ServiceBuilder) -> (Arc<Service>, mpsc::UnboundedReceiver<JsRequest>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (b.build(Arc::new(ChanDispatcher(tx))), rx)
}

pub fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> JsResponse {
    JsResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string().into(), v.to_string().into()))
            .collect(),
        body: Bytes::copy_from_slice(body.as_bytes()),
        stream: None,
    }
}

/// Receives the next dispatched request (with a guard) and answers it.
pub async fn answer_next(
    svc: &Service,
    rx: &mut mpsc::UnboundedReceiver<JsRequest>,
    response: JsResponse,
) -> JsRequest {
    let req = recv(rx).await;
    assert!(
        svc.complete(req.id, response),
        "the service no longer waited"
    );
    req
}

/// The next dispatched request, failing the test after [`GUARD`].
pub async fn recv(rx: &mut mpsc::UnboundedReceiver<JsRequest>) -> JsRequest {
    tokio::time::timeout(GUARD, rx.recv())
        .await
        .expect("no request was dispatched")
        .expect("dispatcher channel closed")
}

/// Answers every request with 200 and its target as the body, until the
/// channel closes.
pub fn spawn_echo(svc: Arc<Service>, mut rx: mpsc::UnboundedReceiver<JsRequest>) {
    tokio::spawn(async move {
        while let Some(req) = rx.recv().await {
            let body = req.target.clone();
            svc.complete(req.id, answer(200, &[], &body));
        }
    });
}

pub async fn body_bytes(res: Response<Body>) -> Bytes {
    res.into_body().collect().await.expect("body").to_bytes()
}

pub async fn body_json(res: Response<Body>) -> serde_json::Value {
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(ct.as_deref(), Some("application/json; charset=utf-8"));
    let bytes = body_bytes(res).await;
    serde_json::from_slice(&bytes).expect("JSON body")
}

/// A parsed HTTP/1.1 response read off a socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

/// A client connection speaking raw HTTP/1.1 text.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub async fn connect(addr: SocketAddr) -> Self {
        RawConn {
            stream: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).await.expect("write");
    }

    /// Reads more bytes; false at EOF (or a reset). Cancel-safe.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next response; None when the server closed the connection before
    /// sending any byte of one. Cancel-safe: bytes read so far are kept.
    pub async fn response(&mut self) -> Option<RawResponse> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if !self.fill().await {
                assert!(self.buf.is_empty(), "connection closed mid-head");
                return None;
            }
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).expect("UTF-8 head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').expect("header line");
                (k.trim().to_owned(), v.trim().to_owned())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().expect("content-length"))
            .unwrap_or(0);
        let total = head_end + 4 + len;
        while self.buf.len() < total {
            assert!(self.fill().await, "connection closed mid-body");
        }
        let body = self.buf[head_end + 4..total].to_vec();
        self.buf.drain(..total);
        Some(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// Like [`RawConn::response`], failing the test after [`GUARD`].
    pub async fn expect_response(&mut self) -> RawResponse {
        tokio::time::timeout(GUARD, self.response())
            .await
            .expect("no response in time")
            .expect("connection closed without a response")
    }

    /// Waits (up to [`GUARD`]) for the server to close the connection and
    /// returns whatever it sent before closing.
    pub async fn expect_closed(&mut self) -> Vec<u8> {
        tokio::time::timeout(GUARD, async { while self.fill().await {} })
            .await
            .expect("server kept the connection open");
        std::mem::take(&mut self.buf)
    }
}

/// `GET {path}` with keep-alive (HTTP/1.1 default).
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}
