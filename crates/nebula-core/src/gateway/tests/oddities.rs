//! `forward` against a scripted worker that answers oddly: each connection
//! it accepts gets the next canned answer (raw bytes) once a request head
//! has arrived.
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::{HeaderMap, Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

use crate::gateway::endpoint::{Endpoint, EndpointAddr};
use crate::gateway::forward::forward;
use crate::gateway::proxy::{Failure, ForwardOptions};
use crate::http::dynamic::DynRequest;
use crate::kernel::Reply;

/// A worker on a fresh socket; connection `i` gets `answers[i]`, then stays
/// open (so a connection the gateway pooled would look reusable).
fn scripted(answers: Vec<&'static [u8]>) -> (tempfile::TempDir, Endpoint) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    tokio::spawn(async move {
        for answer in answers {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(answer).await;
                // Held open until the gateway closes it.
                let _ = s.read(&mut buf).await;
            });
        }
    });
    let endpoint = Endpoint::new("odd".into(), 0, 0, EndpointAddr::Unix(path));
    (dir, endpoint)
}

fn request() -> DynRequest {
    DynRequest {
        method: Method::GET,
        target: "/x".into(),
        params: Vec::new(),
        headers: Arc::new(HeaderMap::new()),
        body: bytes::Bytes::new(),
        stream: None,
        locals: Vec::new(),
        peer: None,
    }
}

fn options() -> ForwardOptions {
    ForwardOptions {
        service: "odd".into(),
        timeout: Duration::from_secs(5),
        strip_prefix: None,
        max_response: None,
    }
}

/// The reply, whether forwarded or the gateway's own, and its body as text.
async fn send(endpoint: &Endpoint) -> (StatusCode, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let reply: Reply = match forward(&mut request(), endpoint, &options(), deadline).await {
        Ok(r) | Err(Failure::Answer(r)) => r,
        Err(Failure::Connect(why)) => panic!("connect failure: {why}"),
    };
    let body = match reply.stream.and_then(|s| s.take()) {
        Some(stream) => stream.collect().await.expect("body").to_bytes(),
        None => reply.body,
    };
    (reply.status, String::from_utf8_lossy(&body).into_owned())
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

#[tokio::test]
async fn an_unasked_101_is_a_502_and_its_connection_is_not_pooled() {
    let (_dir, endpoint) = scripted(vec![
        b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nnot http any more",
        OK,
    ]);
    let (status, body) = send(&endpoint).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("101 Switching Protocols"), "{body}");
    assert_eq!(endpoint.pool().idle(), 0);
    // The next request gets a connection of its own, and the worker's answer.
    assert_eq!(send(&endpoint).await, (StatusCode::OK, "ok".into()));
    assert_eq!(endpoint.pool().idle(), 1);
    assert_eq!(endpoint.in_flight().get(), 0);
}

#[tokio::test]
async fn informational_answers_before_the_final_one_are_skipped() {
    let (_dir, endpoint) = scripted(vec![
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    ]);
    assert_eq!(send(&endpoint).await, (StatusCode::OK, "ok".into()));
}

#[tokio::test]
async fn a_garbage_answer_is_a_502() {
    let (_dir, endpoint) = scripted(vec![b"SSH-2.0-OpenSSH_9.6\r\n\r\n"]);
    let (status, body) = send(&endpoint).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("bad answer from instance 0"), "{body}");
    assert_eq!(endpoint.pool().idle(), 0);
}

/// A worker that answers each connection once, then closes it (as after
/// `Connection: close`, or an idle keep-alive timeout).
fn closing(answers: usize) -> (tempfile::TempDir, Endpoint) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    tokio::spawn(async move {
        for _ in 0..answers {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(OK).await;
            // Dropped: closed once the answer is out.
        }
    });
    (
        dir,
        Endpoint::new("odd".into(), 0, 0, EndpointAddr::Unix(path)),
    )
}

#[tokio::test]
async fn a_connection_the_worker_closed_is_not_reused() {
    // The pooled connection is polled by nobody while idle: the close is
    // noticed when it is next taken, and the request goes on a new one.
    let (_dir, endpoint) = closing(3);
    for _ in 0..3 {
        assert_eq!(send(&endpoint).await, (StatusCode::OK, "ok".into()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(endpoint.in_flight().get(), 0);
}
