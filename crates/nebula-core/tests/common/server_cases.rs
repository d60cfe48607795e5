// `server::listen` (threads mode) and the loop server (`h1`, loop mode) on a
// real socket, driven by raw HTTP/1.1 text: included by tests/server.rs and
// tests/server_loop.rs, which set `LOOP`.

use std::sync::Arc;
use std::time::Duration;

use common::*;
use hyper::Method;
use nebula_core::http::server::{self, ServerHandle};
use nebula_core::http::{JsRequest, ServerConfig, Service, ServiceBuilder};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedReceiver;

/// Listens on 127.0.0.1:0 in the mode of this test binary.
async fn listen(svc: Arc<Service>) -> ServerHandle {
    if LOOP {
        nebula_core::http::h1::listen_on_thread(svc, "127.0.0.1", 0).unwrap()
    } else {
        server::listen(svc, "127.0.0.1", 0).await.unwrap()
    }
}

/// A service with `GET /*` (route 1), listening on 127.0.0.1:0.
async fn start(config: ServerConfig) -> (Arc<Service>, UnboundedReceiver<JsRequest>, ServerHandle) {
    let mut b = ServiceBuilder::new(config);
    b.add_route(&[Method::GET], "/*", 1).unwrap();
    let (svc, rx) = build(b);
    let handle = listen(svc.clone()).await;
    (svc, rx, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_serves_two_requests_on_one_connection() {
    let (svc, rx, handle) = start(ServerConfig::default()).await;
    spawn_echo(svc.clone(), rx);
    let mut conn = RawConn::connect(handle.local_addr()).await;
    conn.send(&get("/first")).await;
    let a = conn.expect_response().await;
    assert_eq!((a.status, a.text()), (200, "/first"));
    assert_ne!(a.header("connection"), Some("close"));
    conn.send(&get("/second?x=1")).await;
    let b = conn.expect_response().await;
    assert_eq!((b.status, b.text()), (200, "/second?x=1"));
    assert_eq!(svc.stats().requests, 2);
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_answered_in_order() {
    let (svc, rx, handle) = start(ServerConfig::default()).await;
    spawn_echo(svc, rx);
    let mut conn = RawConn::connect(handle.local_addr()).await;
    conn.send(&format!("{}{}", get("/one"), get("/two"))).await;
    let a = conn.expect_response().await;
    let b = conn.expect_response().await;
    assert_eq!((a.status, a.text()), (200, "/one"));
    assert_eq!((b.status, b.text()), (200, "/two"));
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_head_is_closed_after_header_timeout() {
    let config = ServerConfig {
        header_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    };
    let (_svc, mut rx, handle) = start(config).await;
    let mut conn = RawConn::connect(handle.local_addr()).await;
    // No blank line: the head never ends.
    conn.send("GET /never HTTP/1.1\r\nHost: test\r\n").await;
    let sent = conn.expect_closed().await;
    let text = String::from_utf8_lossy(&sent);
    assert!(
        !text.contains(" 200 "),
        "no success for a partial head: {text}"
    );
    assert!(rx.try_recv().is_err(), "nothing reached the handler");
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_holds_back_second_client_until_first_closes() {
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let (svc, rx, handle) = start(config).await;
    spawn_echo(svc.clone(), rx);
    let addr = handle.local_addr();

    let mut a = RawConn::connect(addr).await;
    a.send(&get("/a")).await;
    assert_eq!(a.expect_response().await.text(), "/a"); // A is accepted and now idle

    let mut b = RawConn::connect(addr).await;
    b.send(&get("/b")).await;
    let early = tokio::time::timeout(Duration::from_millis(300), b.response()).await;
    assert!(
        early.is_err(),
        "B was answered while A held the only slot: {early:?}"
    );
    assert_eq!(svc.stats().requests, 1);

    drop(a);
    let res = b.expect_response().await;
    assert_eq!((res.status, res.text()), (200, "/b"));
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_lets_in_flight_request_finish_then_refuses_connections() {
    let config = ServerConfig {
        shutdown_timeout: Duration::from_secs(30),
        ..ServerConfig::default()
    };
    let (svc, mut rx, handle) = start(config).await;
    let addr = handle.local_addr();
    let mut conn = RawConn::connect(addr).await;
    conn.send(&get("/slow")).await;
    let js = recv(&mut rx).await; // the request is in flight, held here

    let mut stopping = tokio::spawn(handle.stop());
    let early = tokio::time::timeout(Duration::from_millis(200), &mut stopping).await;
    assert!(
        early.is_err(),
        "stop() returned while a request was in flight"
    );

    assert!(svc.complete(js.id, answer(200, &[], "bye")));
    let res = conn.expect_response().await;
    assert_eq!((res.status, res.text()), (200, "bye"));
    conn.expect_closed().await; // no keep-alive once stopping

    tokio::time::timeout(GUARD, stopping)
        .await
        .expect("stop() did not finish after the last request")
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener still accepts after stop()"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_busy_connection_after_shutdown_timeout() {
    // ServerConfig::shutdown_timeout: "How long `stop()` waits for in-flight
    // requests before closing." The handler never answers (its own timeout is
    // the default 30 s), so the connection must be closed by stop().
    let config = ServerConfig {
        shutdown_timeout: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let (_svc, mut rx, handle) = start(config).await;
    let mut conn = RawConn::connect(handle.local_addr()).await;
    conn.send(&get("/stuck")).await;
    let _held = recv(&mut rx).await;

    tokio::time::timeout(GUARD, handle.stop())
        .await
        .expect("stop() should give up after the shutdown timeout");
    let sent = conn.expect_closed().await;
    assert!(
        sent.is_empty(),
        "nothing should be answered after stop() gave up: {:?}",
        String::from_utf8_lossy(&sent)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_within_gives_busy_connections_less_than_the_shutdown_timeout() {
    // The shutdown timeout is the default 30 s; the caller (the graceful-shutdown
    // plugin, which has waited already) asks for none.
    let (_svc, mut rx, handle) = start(ServerConfig::default()).await;
    let mut conn = RawConn::connect(handle.local_addr()).await;
    conn.send(&get("/stuck")).await;
    let _held = recv(&mut rx).await;
    tokio::time::timeout(GUARD, handle.stop_within(Duration::ZERO))
        .await
        .expect("stop_within(0) does not wait for the busy connection");
    assert!(conn.expect_closed().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_is_sent_while_a_partial_next_request_is_buffered() {
    let (svc, rx, handle) = start(ServerConfig::default()).await;
    spawn_echo(svc, rx);
    let mut conn = RawConn::connect(handle.local_addr()).await;
    // A whole request, then the first bytes of the next one in the same write.
    conn.send(&format!("{}GET /two HTTP/1.1\r\nHo", get("/one")))
        .await;
    let a = conn.expect_response().await;
    assert_eq!((a.status, a.text()), (200, "/one"));
    conn.send("st: test\r\n\r\n").await;
    let b = conn.expect_response().await;
    assert_eq!((b.status, b.text()), (200, "/two"));
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_request_line_gets_400_not_silence() {
    let (svc, rx, handle) = start(ServerConfig::default()).await;
    spawn_echo(svc, rx);
    let mut conn = RawConn::connect(handle.local_addr()).await;
    conn.send("G@T / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let sent = conn.expect_closed().await;
    let text = String::from_utf8_lossy(&sent);
    assert!(text.starts_with("HTTP/1.1 400"), "got {text:?}");
    handle.stop().await;
}
