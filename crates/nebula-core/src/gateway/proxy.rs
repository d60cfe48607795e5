//! What a forwarded request looks like to a worker: the path and query
//! unchanged (or the route's prefix stripped), hop-by-hop headers dropped,
//! `X-Forwarded-*` and `X-Request-Id` set (the sending is in `forward.rs`).
use std::net::IpAddr;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::HeaderMap;

use crate::kernel::Reply;

/// The verified JWT claims (JSON, ASCII) a worker gets from `JwtAuthPlugin`;
/// a client's own header of this name is dropped, so a worker may trust it.
pub const USER_HEADER: &str = "x-nebula-user";

/// `claims` as a header value: JSON with every non-ASCII character escaped.
pub fn user_header(claims: &serde_json::Value) -> Option<HeaderValue> {
    let mut out = String::new();
    for c in claims.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    HeaderValue::from_str(&out).ok()
}

/// Headers that describe one hop, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// How one service's requests are forwarded.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    pub service: String,
    pub timeout: Duration,
    /// Drop the route's fixed prefix from the path (`/api/py/x` → `/x`).
    pub strip_prefix: Option<String>,
    /// Largest answer passed on from a worker (streamed; cut off past it). None: no limit.
    pub max_response: Option<u64>,
}

/// Why a forward failed before the worker answered: a connection error may
/// be retried on another instance (nothing reached the worker).
pub enum Failure {
    Connect(String),
    Answer(Reply),
}

/// The path and query the worker sees.
pub fn upstream_target(target: &str, strip: Option<&str>) -> String {
    let Some(prefix) = strip else {
        return target.to_owned();
    };
    match target.strip_prefix(prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with('?') => format!("/{rest}"),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => target.to_owned(),
    }
}

/// Headers named in `Connection:` (hop-by-hop too), lowercased.
fn connection_named(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect()
}

/// `headers` without the hop-by-hop ones (and those `Connection` names).
pub(super) fn end_to_end(headers: &HeaderMap, extra: &[&str]) -> HeaderMap {
    let named = connection_named(headers);
    let mut out = HeaderMap::with_capacity(headers.len() + 4);
    for (k, v) in headers {
        let name = k.as_str();
        if HOP_BY_HOP.contains(&name) || extra.contains(&name) || named.iter().any(|n| n == name) {
            continue;
        }
        out.append(k.clone(), v.clone());
    }
    out
}

/// Drops the hop-by-hop headers (and those `Connection` names) in place:
/// an answer's headers are passed on without a copy.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in connection_named(headers) {
        headers.remove(name.as_str());
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The request headers the worker gets. The client's own forwarding claims
/// are replaced, never trusted: `X-Forwarded-For` gains the peer, `-Proto`
/// is this server's, `Forwarded` and `X-Real-IP` are dropped. A request id
/// goes only where one was asked for: the access log's (`request_id`), else
/// the client's when sane, else (the client sent one that is not) a new one.
pub fn upstream_headers(
    incoming: &HeaderMap,
    peer: Option<IpAddr>,
    request_id: Option<&str>,
) -> HeaderMap {
    let mut out = end_to_end(
        incoming,
        &[
            "forwarded",
            "x-real-ip",
            USER_HEADER,
            "x-forwarded-proto",
            "x-forwarded-host",
            "x-request-id",
        ],
    );
    if let Some(ip) = peer {
        if let Some(v) = forwarded_for(incoming, ip) {
            out.insert(HeaderName::from_static("x-forwarded-for"), v);
        }
    }
    out.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("http"),
    );
    if let Some(host) = incoming.get(HOST) {
        out.insert(HeaderName::from_static("x-forwarded-host"), host.clone());
    } else {
        out.insert(HOST, HeaderValue::from_static("localhost"));
    }
    let id = match (request_id, incoming.get("x-request-id")) {
        (Some(logged), _) => HeaderValue::from_str(logged).ok(),
        (None, Some(own)) if crate::kernel::locals::is_sane_request_id(own.as_bytes()) => {
            Some(own.clone())
        }
        (None, Some(_)) => HeaderValue::from_str(&crate::support::ids::uuid_v4()).ok(),
        (None, None) => None,
    };
    if let Some(v) = id {
        out.insert(HeaderName::from_static("x-request-id"), v);
    }
    out
}

/// `X-Forwarded-For`: the client's chain (if any), then `ip`, written
/// without going through `fmt` for an IPv4 peer.
fn forwarded_for(incoming: &HeaderMap, ip: IpAddr) -> Option<HeaderValue> {
    let mut out = Vec::with_capacity(40);
    for v in incoming.get_all("x-forwarded-for") {
        if v.to_str().is_ok() {
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b", ");
        }
    }
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if octet >= 100 {
                    out.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.push(b'0' + octet / 10 % 10);
                }
                out.push(b'0' + octet % 10);
            }
        }
        IpAddr::V6(v6) => {
            use std::io::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::from(out)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped_only_on_a_segment_boundary() {
        assert_eq!(upstream_target("/api/py/x?a=1", Some("/api/py")), "/x?a=1");
        assert_eq!(upstream_target("/api/py", Some("/api/py")), "/");
        assert_eq!(upstream_target("/api/py?q", Some("/api/py")), "/?q");
        assert_eq!(
            upstream_target("/api/python", Some("/api/py")),
            "/api/python"
        );
        assert_eq!(upstream_target("/api/py/x", None), "/api/py/x");
    }

    #[test]
    fn claims_travel_as_ascii_json() {
        let v = user_header(&serde_json::json!({"sub": "u1", "name": "Zoë 😀"})).unwrap();
        let text = v.to_str().unwrap();
        assert!(text.is_ascii());
        let back: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back["name"], "Zoë 😀");
    }

    #[test]
    fn hop_by_hop_headers_stay_and_forwarding_headers_are_set() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("host", HeaderValue::from_static("example.com"));
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        h.insert("authorization", HeaderValue::from_static("Bearer t"));
        let out = upstream_headers(&h, Some("127.0.0.1".parse().unwrap()), None);
        assert!(out.get("connection").is_none() && out.get("keep-alive").is_none());
        assert!(out.get("x-secret-hop").is_none());
        assert_eq!(out["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(out["x-forwarded-host"], "example.com");
        assert_eq!(out["x-forwarded-proto"], "http");
        assert_eq!(out["authorization"], "Bearer t");
        // Nobody asked for a request id: none is made up.
        assert!(out.get("x-request-id").is_none());
        let mut with_id = HeaderMap::new();
        with_id.insert("x-request-id", HeaderValue::from_static("abc"));
        assert_eq!(
            upstream_headers(&with_id, None, None)["x-request-id"],
            "abc"
        );
        // The access log's id wins; a client's insane one is replaced.
        assert_eq!(
            upstream_headers(&with_id, None, Some("log-1"))["x-request-id"],
            "log-1"
        );
        with_id.insert("x-request-id", HeaderValue::from_static("has space"));
        assert_eq!(
            upstream_headers(&with_id, None, None)["x-request-id"].len(),
            36
        );
        // Client claims about the original request are not trusted.
        let mut spoof = HeaderMap::new();
        spoof.insert(USER_HEADER, HeaderValue::from_static("{\"sub\":\"admin\"}"));
        spoof.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        spoof.insert("forwarded", HeaderValue::from_static("for=1.2.3.4"));
        spoof.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        spoof.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        let out = upstream_headers(&spoof, Some("127.0.0.1".parse().unwrap()), None);
        assert_eq!(out["x-forwarded-proto"], "http");
        assert!(out.get("forwarded").is_none());
        assert!(out.get(USER_HEADER).is_none());
        assert_eq!(out["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 127.0.0.1");
    }

    #[test]
    fn the_peer_is_written_as_std_writes_it() {
        for ip in [
            "0.0.0.0",
            "10.20.100.255",
            "1.2.3.4",
            "::1",
            "2001:db8::8:1",
        ] {
            let out = upstream_headers(&HeaderMap::new(), Some(ip.parse().unwrap()), None);
            assert_eq!(out["x-forwarded-for"], ip);
        }
    }
}
