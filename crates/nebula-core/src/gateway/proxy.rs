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

/// The request headers the worker gets. The client's own forwarding claims
/// are replaced, never trusted: `X-Forwarded-For` gains the peer, `-Proto`
/// is this server's, `Forwarded` and `X-Real-IP` are dropped. The request id
/// is the access log's (`request_id`), else the client's when sane, else new.
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
        ],
    );
    if let Some(ip) = peer {
        let prev: Vec<&str> = incoming
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let chain = if prev.is_empty() {
            ip.to_string()
        } else {
            format!("{}, {ip}", prev.join(", "))
        };
        if let Ok(v) = HeaderValue::from_str(&chain) {
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
    let id = request_id
        .map(str::to_owned)
        .or_else(|| {
            incoming
                .get("x-request-id")
                .filter(|v| crate::kernel::locals::is_sane_request_id(v.as_bytes()))
                .and_then(|v| v.to_str().ok().map(str::to_owned))
        })
        .unwrap_or_else(crate::support::ids::uuid_v4);
    if let Ok(v) = HeaderValue::from_str(&id) {
        out.insert(HeaderName::from_static("x-request-id"), v);
    }
    out
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
        assert_eq!(out["x-request-id"].len(), 36);
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
}
