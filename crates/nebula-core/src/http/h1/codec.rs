//! HTTP/1.1 on the loop's fast path, without I/O: a request head parsed
//! with `httparse` out of the connection's buffer, and a whole-in-memory
//! answer rendered into its output buffer.
//!
//! The fast path takes the plain requests a service mostly gets (HTTP/1.1,
//! a `Content-Length` body of at most [`FAST_BODY_MAX`] bytes). Anything
//! else — chunked bodies, upgrades, `Expect`, HTTP/1.0, a malformed head —
//! is [`Parsed::HandOff`]: the connection goes to hyper at that request,
//! which answers it exactly as the threads mode does.
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, DATE};
use hyper::{HeaderMap, Method, Request, StatusCode, Uri, Version};

/// Largest body read on the fast path; a larger one goes to hyper, which streams it.
pub const FAST_BODY_MAX: usize = 64 * 1024;
/// Largest head read on the fast path (a larger one goes to hyper, which refuses it).
pub const FAST_HEAD_MAX: usize = 64 * 1024;
/// Headers parsed on the stack; a request with more goes to hyper.
const FAST_HEADERS: usize = 64;

/// What one look at the buffer found.
// The request goes straight into its answer's future: boxing it here would
// cost an allocation per request to save a move.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Parsed {
    /// Not a whole request yet. `head` is true once the head is complete
    /// (the body is still arriving).
    Partial { head: bool },
    /// A whole request, taken out of the buffer.
    Request(Request<Full<Bytes>>, Meta),
    /// Not for the fast path: hyper takes the connection from this request on.
    HandOff,
}

/// What the answer's rendering needs to know of its request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta {
    /// `HEAD`: the answer has no body.
    pub head_only: bool,
    /// The client asked to close after this answer (`Connection: close`).
    pub close: bool,
}

/// Parses the first request in `buf`, at most `max_headers` headers.
pub fn parse(buf: &mut BytesMut, max_headers: usize) -> Parsed {
    let mut slots = [httparse::EMPTY_HEADER; FAST_HEADERS];
    let mut head = httparse::Request::new(&mut slots);
    let head_len = match head.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() <= FAST_HEAD_MAX => {
            return Parsed::Partial { head: false }
        }
        // Too long, too many headers, malformed: hyper answers it.
        _ => return Parsed::HandOff,
    };
    if head.version != Some(1) || head.headers.len() > max_headers {
        return Parsed::HandOff;
    }
    let (Some(method), Some(path)) = (head.method, head.path) else {
        return Parsed::HandOff;
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Parsed::HandOff;
    };
    let Ok(uri) = path.parse::<Uri>() else {
        return Parsed::HandOff;
    };
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    let mut length: Option<usize> = None;
    let mut meta = Meta {
        head_only: method == Method::HEAD,
        close: false,
    };
    for h in head.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(h.name.as_bytes()) else {
            return Parsed::HandOff;
        };
        let Ok(value) = HeaderValue::from_bytes(h.value) else {
            return Parsed::HandOff;
        };
        match name.as_str() {
            "content-length" => {
                let n = std::str::from_utf8(h.value)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<usize>().ok());
                match (n, length) {
                    (Some(n), None) => length = Some(n),
                    (Some(n), Some(m)) if n == m => {}
                    _ => return Parsed::HandOff,
                }
            }
            "transfer-encoding" | "upgrade" | "expect" | "te" => return Parsed::HandOff,
            "connection" => {
                for token in h.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        meta.close = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        return Parsed::HandOff;
                    }
                }
            }
            _ => {}
        }
        headers.append(name, value);
    }
    let length = length.unwrap_or(0);
    if length > FAST_BODY_MAX {
        return Parsed::HandOff;
    }
    if buf.len() < head_len + length {
        return Parsed::Partial { head: true };
    }
    // The head is dropped in place and an empty body shares nothing: the
    // buffer stays unshared, so the next read reuses its room (no allocation).
    buf.advance(head_len);
    let body = if length == 0 {
        Bytes::new()
    } else {
        buf.split_to(length).freeze()
    };
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_11;
    *req.headers_mut() = headers;
    Parsed::Request(req, meta)
}

/// Statuses whose answers carry neither body nor `Content-Length` (RFC 9110 §6.4.1).
pub fn bodiless(status: StatusCode) -> bool {
    status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

/// Writes the answer's status line and headers, then its body unless
/// `meta` says HEAD (or the status has none). Returns whether the
/// connection must close after it.
pub fn render(
    parts: &hyper::http::response::Parts,
    body: &[u8],
    meta: Meta,
    date: &mut DateCache,
    out: &mut Vec<u8>,
) -> bool {
    out.reserve(128 + parts.headers.len() * 32 + body.len());
    let close = render_head(parts, Some(body.len()), meta, date, out);
    if !bodiless(parts.status) && !meta.head_only {
        out.extend_from_slice(body);
    }
    close
}

/// Writes the status line and headers, with `content-length` (when
/// `length` is known and not declared), `date` and, when closing,
/// `connection: close` added as hyper adds them. Returns whether the
/// connection must close after the answer.
pub fn render_head(
    parts: &hyper::http::response::Parts,
    length: Option<usize>,
    meta: Meta,
    date: &mut DateCache,
    out: &mut Vec<u8>,
) -> bool {
    let status = parts.status;
    let close = meta.close
        || parts
            .headers
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(length) = length {
        if !bodiless(status) && !parts.headers.contains_key(CONTENT_LENGTH) {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa_usize(length, &mut [0u8; 20]));
            out.extend_from_slice(b"\r\n");
        }
    }
    if !parts.headers.contains_key(DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(date.now());
        out.extend_from_slice(b"\r\n");
    }
    if close && !parts.headers.contains_key(CONNECTION) {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    close
}

fn itoa_usize(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// The `date` header's value, rendered once per second.
#[derive(Default)]
pub struct DateCache {
    second: u64,
    text: Vec<u8>,
}

impl DateCache {
    pub fn now(&mut self) -> &[u8] {
        let now = SystemTime::now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if second != self.second || self.text.is_empty() {
            self.second = second;
            self.text = httpdate::fmt_http_date(now).into_bytes();
        }
        &self.text
    }
}
