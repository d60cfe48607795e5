//! RFC 6455 conformance of the hub's WebSocket server, over real sockets
//! (Autobahn's cases as the guide). The hub runs in its test-only echo mode:
//! every text or binary message comes back as is.
mod common;

use std::sync::Arc;

use nebula_core::http::server::{self, ServerHandle};
use nebula_core::http::{ServerConfig, ServiceBuilder};
use nebula_core::hub::{Hub, HubConfig, HubMount};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::GUARD;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

async fn start(options: serde_json::Value) -> (ServerHandle, Arc<Hub>) {
    let mut config = HubConfig::from_json(&options).unwrap();
    config.echo = true;
    let hub = Hub::new(config);
    let mut b = ServiceBuilder::new(ServerConfig::default());
    b.mount(Arc::new(HubMount(hub.clone())));
    let (svc, _rx) = common::build(b);
    std::mem::forget(_rx);
    let handle = server::listen(svc, "127.0.0.1", 0).await.unwrap();
    (handle, hub)
}

/// The raw response head of an upgrade request with `extra` header lines.
async fn handshake(handle: &ServerHandle, extra: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(handle.local_addr()).await.unwrap();
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{extra}\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(GUARD, s.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n == 1,
            "connection closed during the handshake: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    (s, String::from_utf8(head).unwrap())
}

async fn open(handle: &ServerHandle) -> TcpStream {
    let (s, head) = handshake(
        handle,
        &format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    s
}

/// A client frame: masked unless `unmasked`.
fn frame(first: u8, payload: &[u8], unmasked: bool) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if unmasked { 0 } else { 0x80 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if unmasked {
        out.extend_from_slice(payload);
    } else {
        let mask = [0x12, 0x34, 0x56, 0x78];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    }
    out
}

const TEXT: u8 = 0x81;
const BINARY: u8 = 0x82;
const CLOSE: u8 = 0x88;
const PING: u8 = 0x89;

/// Reads one server frame: (first byte, payload). Server frames are never masked.
async fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let fut = async {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).await?;
        assert_eq!(h[1] & 0x80, 0, "server frames are not masked");
        let len = match h[1] & 0x7f {
            126 => s.read_u16().await? as usize,
            127 => s.read_u64().await? as usize,
            n => n as usize,
        };
        let mut p = vec![0u8; len];
        s.read_exact(&mut p).await?;
        Ok::<_, std::io::Error>((h[0], p))
    };
    tokio::time::timeout(GUARD, fut)
        .await
        .expect("no frame")
        .expect("read failed")
}

/// The close code the server sends, skipping data frames.
async fn close_code(s: &mut TcpStream) -> u16 {
    loop {
        let (first, p) = read_frame(s).await;
        if first == CLOSE {
            return u16::from_be_bytes([p[0], p[1]]);
        }
    }
}

#[tokio::test]
async fn echoes_text_and_binary_of_every_length_class() {
    let (h, _hub) = start(json!({})).await;
    let mut s = open(&h).await;
    for len in [0usize, 125, 126, 127, 65535, 65536] {
        let text = "a".repeat(len);
        s.write_all(&frame(TEXT, text.as_bytes(), false))
            .await
            .unwrap();
        assert_eq!(
            read_frame(&mut s).await,
            (TEXT, text.into_bytes()),
            "text of {len}"
        );
        let bin = vec![0xfe; len];
        s.write_all(&frame(BINARY, &bin, false)).await.unwrap();
        assert_eq!(read_frame(&mut s).await, (BINARY, bin), "binary of {len}");
    }
    h.stop().await;
}

#[tokio::test]
async fn reassembles_fragments_with_pings_between_them() {
    let (h, _hub) = start(json!({})).await;
    let mut s = open(&h).await;
    s.write_all(&frame(0x01, b"frag", false)).await.unwrap();
    s.write_all(&frame(PING, b"in between", false))
        .await
        .unwrap();
    s.write_all(&frame(0x00, b"men", false)).await.unwrap();
    s.write_all(&frame(0x80, b"ted", false)).await.unwrap();
    assert_eq!(
        read_frame(&mut s).await,
        (0x8a, b"in between".to_vec()),
        "pong first"
    );
    assert_eq!(read_frame(&mut s).await, (TEXT, b"fragmented".to_vec()));
    h.stop().await;
}

#[tokio::test]
async fn protocol_violations_close_with_1002() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ping over 125 bytes", frame(PING, &[0; 126], false)),
        ("RSV1 set", frame(0xc1, b"x", false)),
        ("RSV3 set", frame(0x91, b"x", false)),
        ("reserved opcode 3", frame(0x83, b"", false)),
        ("reserved opcode 11", frame(0x8b, b"", false)),
        ("fragmented ping", frame(0x09, b"x", false)),
        ("continuation without start", frame(0x80, b"x", false)),
        ("unmasked frame", frame(TEXT, b"x", true)),
        ("close payload of 1 byte", frame(CLOSE, &[3], false)),
        (
            "close code 1005",
            frame(CLOSE, &1005u16.to_be_bytes(), false),
        ),
        ("close code 999", frame(CLOSE, &999u16.to_be_bytes(), false)),
        (
            "close code 5000",
            frame(CLOSE, &5000u16.to_be_bytes(), false),
        ),
    ];
    let (h, _hub) = start(json!({})).await;
    for (name, bytes) in cases {
        let mut s = open(&h).await;
        s.write_all(&bytes).await.unwrap();
        assert_eq!(close_code(&mut s).await, 1002, "{name}");
    }
    h.stop().await;
}

#[tokio::test]
async fn a_new_message_inside_a_fragmented_one_is_a_protocol_error() {
    let (h, _hub) = start(json!({})).await;
    let mut s = open(&h).await;
    s.write_all(&frame(0x01, b"start", false)).await.unwrap();
    s.write_all(&frame(TEXT, b"again", false)).await.unwrap();
    assert_eq!(close_code(&mut s).await, 1002);
    h.stop().await;
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let (h, _hub) = start(json!({})).await;
    let mut s = open(&h).await;
    s.write_all(&frame(TEXT, &[0xce, 0xba, 0xff], false))
        .await
        .unwrap();
    assert_eq!(close_code(&mut s).await, 1007, "in a text message");
    let mut s = open(&h).await;
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(&[0xff, 0xfe]);
    s.write_all(&frame(CLOSE, &close, false)).await.unwrap();
    assert_eq!(close_code(&mut s).await, 1007, "in a close reason");
    h.stop().await;
}

#[tokio::test]
async fn a_clean_close_is_echoed_and_the_socket_ends() {
    let (h, hub) = start(json!({})).await;
    let mut s = open(&h).await;
    s.write_all(&frame(CLOSE, &1000u16.to_be_bytes(), false))
        .await
        .unwrap();
    assert_eq!(close_code(&mut s).await, 1000);
    let mut rest = Vec::new();
    let n = tokio::time::timeout(GUARD, s.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        n, 0,
        "the server closes the TCP connection after the closing handshake"
    );
    // The hub forgets the client once its task ends.
    tokio::time::timeout(GUARD, async {
        while hub.client_count() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    h.stop().await;
}

#[tokio::test]
async fn over_the_size_limit_closes_with_1009() {
    let (h, _hub) = start(json!({ "maxMessageSize": 1000, "maxFragments": 4 })).await;
    let mut s = open(&h).await;
    s.write_all(&frame(TEXT, &[b'a'; 1001], false))
        .await
        .unwrap();
    assert_eq!(close_code(&mut s).await, 1009, "one big frame");
    let mut s = open(&h).await;
    s.write_all(&frame(0x01, b"a", false)).await.unwrap();
    for _ in 0..4 {
        s.write_all(&frame(0x00, b"a", false)).await.unwrap();
    }
    assert_eq!(close_code(&mut s).await, 1009, "too many fragments");
    h.stop().await;
}

#[tokio::test]
async fn bad_handshakes_are_refused_before_the_upgrade() {
    let (h, _hub) = start(json!({})).await;
    let (_, head) = handshake(
        &h,
        &format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );
    let (_, head) = handshake(
        &h,
        "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let (_, head) = handshake(&h, "Sec-WebSocket-Version: 13\r\n").await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    h.stop().await;
}

#[tokio::test]
async fn the_server_pings_and_closes_idle_connections() {
    let (h, _hub) = start(json!({ "pingIntervalMs": 50, "idleTimeoutMs": 400 })).await;
    let mut s = open(&h).await;
    let (first, _) = read_frame(&mut s).await;
    assert_eq!(first, PING, "a keepalive ping");
    // Not answering: the idle timeout closes the connection with 1001.
    assert_eq!(close_code(&mut s).await, 1001);
    h.stop().await;
}

#[tokio::test]
async fn the_connection_cap_answers_503() {
    let (h, _hub) = start(json!({ "maxConnections": 1 })).await;
    let _first = open(&h).await;
    let (_, head) = handshake(
        &h,
        &format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    h.stop().await;
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected_while_others_keep_going() {
    let (h, hub) = start(
        json!({ "sendQueue": { "maxMessages": 64, "maxBytes": 65536 }, "maxMessageSize": 32768 }),
    )
    .await;
    let _slow = open(&h).await; // never reads
    let mut fast = open(&h).await;
    // 32 MiB in all: more than the kernel's socket buffers hold for the slow one.
    let payload = "x".repeat(16 * 1024);
    let mut fast_got = 0;
    for _ in 0..2000 {
        hub.broadcast(
            "load",
            &serde_json::Value::from(payload.as_str()).to_string(),
        );
        let (first, _) = read_frame(&mut fast).await;
        assert_eq!(first, TEXT);
        fast_got += 1;
    }
    assert_eq!(fast_got, 2000);
    assert_eq!(hub.stats()["counters"]["slow_clients"], 1);
    h.stop().await;
}
