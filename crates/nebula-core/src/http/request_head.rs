//! Checks on a request's head before it is routed: its size and what `Host`
//! must be (RFC 9112 §3.2) for a request from a socket, and what an `Expect`
//! header gets (RFC 9110 §10.1.1). All answer without reading the body.
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, EXPECT, HOST};
use hyper::{Request, StatusCode, Version};

use std::fmt;

use crate::kernel::Reply;

/// Why a request head is refused; the client gets [`HeadError::into_reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HeadError {
    NoHost,
    TwoHosts,
    BadHost,
    TargetUserinfo,
    BadAuthority,
    UnknownExpectation,
    TooLarge { limit: usize },
    HeadTooLarge { limit: usize },
}

/// The most a request head (target and header lines) may take. hyper's own
/// limit (its read buffer, ~400 KiB) holds only when the head arrives in
/// several reads: one read may bring in a larger head whole, and hyper
/// parses it. This one holds whatever the reads were.
pub(super) const MAX_HEAD_BYTES: usize = 64 * 1024;

impl HeadError {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            HeadError::UnknownExpectation => StatusCode::EXPECTATION_FAILED,
            HeadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HeadError::HeadTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON reply, with `Connection: close`: the body (if any) is never
    /// read, and what follows on the connection cannot be trusted.
    pub(super) fn into_reply(self) -> Reply {
        let mut reply = Reply::error(self.status(), &self.to_string());
        reply
            .headers
            .insert(CONNECTION, HeaderValue::from_static("close"));
        reply
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::NoHost => {
                f.write_str("an HTTP/1.1 request must have a Host header (RFC 9112 §3.2)")
            }
            HeadError::TwoHosts => f.write_str("the request has more than one Host header"),
            HeadError::BadHost => {
                f.write_str("the Host header is not a valid host[:port] (RFC 9112 §3.2)")
            }
            HeadError::TargetUserinfo => f.write_str(
                "the request target's authority has user information, which is not accepted",
            ),
            HeadError::BadAuthority => f.write_str("the request target's authority is not valid"),
            HeadError::UnknownExpectation => {
                f.write_str("the only expectation this server meets is Expect: 100-continue")
            }
            HeadError::TooLarge { limit } => {
                write!(f, "request body is larger than the limit of {limit} bytes")
            }
            HeadError::HeadTooLarge { limit } => write!(
                f,
                "the request head (target and headers) is larger than the limit of {limit} bytes"
            ),
        }
    }
}

/// RFC 9112 §3.2, for a request read from a socket (in-process requests are
/// built without `Host` and are not checked):
/// - an HTTP/1.1 request without `Host` → 400 (HTTP/1.0 may omit it);
/// - more than one `Host`, or a value that is not a host\[:port\] → 400;
/// - an absolute-form target (`GET http://a.example/x`): its authority
///   replaces whatever `Host` says, so handlers see the host the target named.
pub(super) fn check_host<B>(req: &mut Request<B>) -> Result<(), HeadError> {
    let mut hosts = req.headers().get_all(HOST).iter();
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err(HeadError::TwoHosts);
    }
    match first {
        Some(v) if !is_host(v.as_bytes()) => return Err(HeadError::BadHost),
        None if req.version() == Version::HTTP_11 => return Err(HeadError::NoHost),
        _ => {}
    }
    if let Some(authority) = req.uri().authority() {
        if authority.as_str().contains('@') {
            return Err(HeadError::TargetUserinfo);
        }
        let value =
            HeaderValue::from_str(authority.as_str()).map_err(|_| HeadError::BadAuthority)?;
        req.headers_mut().insert(HOST, value);
    }
    Ok(())
}

/// A head from a socket over `limit` bytes, counted as its lines were sent
/// (`name: value\r\n` per header) → 431.
pub(super) fn check_head_size<B>(req: &Request<B>, limit: usize) -> Result<(), HeadError> {
    let uri = req.uri();
    let target = uri.path_and_query().map_or(0, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if target + headers > limit {
        return Err(HeadError::HeadTooLarge { limit });
    }
    Ok(())
}

/// An empty value (allowed when the target has no authority), or
/// `host[:port]`: reg-name / IPv4 / `[IPv6]` characters only — no
/// userinfo, path, query, fragment or whitespace.
fn is_host(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]%".contains(&b))
}

/// `Expect` (RFC 9110 §10.1.1), answered before the body is read: hyper
/// sends `100 Continue` when the body is first read, so a refusal here
/// reaches the client before it sends the body, and the body is never read.
/// - `100-continue` with a declared `Content-Length` over `body_limit` → 413
///   at once (no `100 Continue`), closing the connection;
/// - any other expectation → 417, closing the connection (the client may
///   be holding its body back, or sending it: either way the connection
///   cannot be reused safely).
pub(super) fn check_expect<B>(req: &Request<B>, body_limit: usize) -> Result<(), HeadError> {
    let Some(expect) = req.headers().get(EXPECT) else {
        return Ok(());
    };
    if req.headers().get_all(EXPECT).iter().count() > 1
        || !expect.as_bytes().eq_ignore_ascii_case(b"100-continue")
    {
        return Err(HeadError::UnknownExpectation);
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_limit as u64) {
        return Err(HeadError::TooLarge { limit: body_limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(version: Version, target: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().version(version).uri(target);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn http11_needs_exactly_one_valid_host() {
        let v11 = Version::HTTP_11;
        assert!(check_host(&mut req(v11, "/x", &[("host", "a.example:8080")])).is_ok());
        assert!(check_host(&mut req(v11, "/x", &[("host", "[::1]:80")])).is_ok());
        assert!(check_host(&mut req(v11, "/x", &[("host", "")])).is_ok());
        let refused = [
            req(v11, "/x", &[]),
            req(v11, "/x", &[("host", "a"), ("host", "a")]),
            req(v11, "/x", &[("host", "a"), ("host", "b")]),
            req(v11, "/x", &[("host", "a b")]),
            req(v11, "/x", &[("host", "a/b")]),
            req(v11, "/x", &[("host", "u@a")]),
        ];
        for mut r in refused {
            let reply = check_host(&mut r).unwrap_err().into_reply();
            assert_eq!(reply.status, 400, "{:?}", r.headers());
            assert_eq!(reply.headers[CONNECTION], "close");
        }
    }

    #[test]
    fn http10_may_omit_host() {
        assert!(check_host(&mut req(Version::HTTP_10, "/x", &[])).is_ok());
        let mut two = req(Version::HTTP_10, "/x", &[("host", "a"), ("host", "b")]);
        assert!(check_host(&mut two).is_err());
    }

    #[test]
    fn the_absolute_form_authority_replaces_host() {
        let mut r = req(Version::HTTP_11, "http://a.example/x", &[("host", "b")]);
        assert!(check_host(&mut r).is_ok());
        assert_eq!(r.headers()[HOST], "a.example");
        let mut r = req(
            Version::HTTP_11,
            "http://u:p@a.example/x",
            &[("host", "a.example")],
        );
        assert_eq!(check_host(&mut r), Err(HeadError::TargetUserinfo));
    }

    #[test]
    fn a_head_over_the_limit_is_431() {
        let v = Version::HTTP_11;
        let big = "a".repeat(100);
        assert!(check_head_size(&req(v, "/x", &[("x-a", &big)]), 200).is_ok());
        let reply = check_head_size(&req(v, "/x", &[("x-a", &big), ("x-b", &big)]), 200)
            .unwrap_err()
            .into_reply();
        assert_eq!(reply.status, 431);
        assert_eq!(reply.headers[CONNECTION], "close");
        let long_target = format!("/{}", "t".repeat(300));
        assert!(check_head_size(&req(v, &long_target, &[]), 200).is_err());
    }

    #[test]
    fn expectations() {
        let v = Version::HTTP_11;
        let ok = req(
            v,
            "/",
            &[("expect", "100-Continue"), ("content-length", "10")],
        );
        assert!(check_expect(&ok, 10).is_ok());
        let big = req(
            v,
            "/",
            &[("expect", "100-continue"), ("content-length", "11")],
        );
        let reply = check_expect(&big, 10).unwrap_err().into_reply();
        assert_eq!(reply.status, 413);
        assert_eq!(reply.headers[CONNECTION], "close");
        let odd = req(v, "/", &[("expect", "something-else")]);
        assert_eq!(check_expect(&odd, 10).unwrap_err().status(), 417);
        assert!(check_expect(&req(v, "/", &[]), 10).is_ok());
    }
}
