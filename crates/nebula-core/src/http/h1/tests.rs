//! The loop's codec: what the fast path takes, what it hands to hyper, and
//! answers rendered as hyper renders them.
use bytes::BytesMut;
use hyper::{Response, StatusCode};

use super::codec::{parse, render, DateCache, Meta, Parsed, FAST_BODY_MAX};

fn buf(s: &str) -> BytesMut {
    BytesMut::from(s.as_bytes())
}

fn request(b: &mut BytesMut) -> (hyper::Request<http_body_util::Full<bytes::Bytes>>, Meta) {
    match parse(b, 100) {
        Parsed::Request(req, meta) => (req, meta),
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn pipelined_requests_come_out_one_by_one_with_their_bodies() {
    let mut b = buf(
        "POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nhost: h\r\n\r\nGET /c",
    );
    let (a, _) = request(&mut b);
    assert_eq!(a.method(), "POST");
    assert_eq!(a.uri(), "/a?x=1");
    assert_eq!(a.headers()["host"], "h");
    let (b2, meta) = request(&mut b);
    assert_eq!(b2.uri(), "/b");
    assert!(!meta.close && !meta.head_only);
    assert!(matches!(
        parse(&mut b, 100),
        Parsed::Partial { head: false }
    ));
    assert_eq!(&b[..], b"GET /c");
}

#[test]
fn a_body_still_arriving_is_partial_with_its_head_complete() {
    let mut b = buf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    assert!(matches!(parse(&mut b, 100), Parsed::Partial { head: true }));
    b.extend_from_slice(b"defghij");
    let (req, _) = request(&mut b);
    assert_eq!(&super::conn::whole(req.into_body())[..], b"abcdefghij");
    assert!(b.is_empty());
}

#[test]
fn unusual_requests_go_to_hyper() {
    let cases = [
        "GET / HTTP/1.0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        "NOT A REQUEST\r\n\r\n",
    ];
    for case in cases {
        assert!(
            matches!(parse(&mut buf(case), 100), Parsed::HandOff),
            "{case:?}"
        );
    }
    let big = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
        FAST_BODY_MAX + 1
    );
    assert!(matches!(parse(&mut buf(&big), 100), Parsed::HandOff));
    let many: String = (0..5).map(|i| format!("X-{i}: v\r\n")).collect();
    let head = format!("GET / HTTP/1.1\r\n{many}\r\n");
    assert!(
        matches!(parse(&mut buf(&head), 4), Parsed::HandOff),
        "more headers than max_headers"
    );
}

#[test]
fn connection_close_and_head_are_noted() {
    let mut b = buf("HEAD / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n");
    let (_, meta) = request(&mut b);
    assert!(meta.close && meta.head_only);
}

fn rendered(res: Response<()>, body: &str, meta: Meta) -> (String, bool) {
    let (parts, ()) = res.into_parts();
    let mut out = Vec::new();
    let close = render(
        &parts,
        body.as_bytes(),
        meta,
        &mut DateCache::default(),
        &mut out,
    );
    (String::from_utf8(out).unwrap(), close)
}

#[test]
fn answers_carry_length_and_date_and_head_has_no_body() {
    let res = Response::builder()
        .header("content-type", "text/plain")
        .body(())
        .unwrap();
    let (text, close) = rendered(res, "hi", Meta::default());
    assert!(!close);
    assert!(
        text.starts_with(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\ndate: "
        ),
        "{text}"
    );
    assert!(text.ends_with("GMT\r\n\r\nhi"), "{text}");
    let head = Meta {
        head_only: true,
        close: false,
    };
    let (text, _) = rendered(Response::new(()), "hi", head);
    assert!(
        text.contains("content-length: 2\r\n") && text.ends_with("\r\n\r\n"),
        "{text}"
    );
}

#[test]
fn no_content_has_neither_length_nor_body_and_close_is_said() {
    let res = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(())
        .unwrap();
    let meta = Meta {
        head_only: false,
        close: true,
    };
    let (text, close) = rendered(res, "ignored", meta);
    assert!(close);
    assert!(!text.contains("content-length"), "{text}");
    assert!(text.ends_with("connection: close\r\n\r\n"), "{text}");
    let res = Response::builder()
        .header("connection", "close")
        .body(())
        .unwrap();
    let (_, close) = rendered(res, "", Meta::default());
    assert!(close, "an answer saying connection: close closes");
}
