//! Forwarding one request to a worker: plain HTTP/1.1 over its Unix socket
//! (or TCP), with the path and query unchanged (or the route's prefix
//! stripped), hop-by-hop headers dropped, `X-Forwarded-*` and
//! `X-Request-Id` set, and every failure answered as JSON within the
//! timeout: 502 (unreachable, broken answer), 504 (too slow).
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::endpoint::{Endpoint, EndpointAddr};
use crate::http::dynamic::DynRequest;
use crate::plugins::layer::Reply;

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
    /// Largest answer taken from a worker (it is buffered, then sent).
    pub max_response: usize,
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
fn end_to_end(headers: &HeaderMap, extra: &[&str]) -> HeaderMap {
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
                .filter(|v| crate::plugins::logger::request_id::is_sane(v.as_bytes()))
                .and_then(|v| v.to_str().ok().map(str::to_owned))
        })
        .unwrap_or_else(crate::ids::uuid_v4);
    if let Ok(v) = HeaderValue::from_str(&id) {
        out.insert(HeaderName::from_static("x-request-id"), v);
    }
    out
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// An HTTP/1.1 client connection over `stream`, driven by its own task.
async fn handshake<S>(stream: S) -> std::io::Result<Sender>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

async fn connect(addr: &EndpointAddr) -> std::io::Result<Sender> {
    match addr {
        EndpointAddr::Unix(path) => handshake(tokio::net::UnixStream::connect(path).await?).await,
        EndpointAddr::Tcp { host, port } => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            let _ = stream.set_nodelay(true);
            handshake(stream).await
        }
    }
}

fn bad_gateway(service: &str, what: &str) -> Reply {
    Reply::error(
        StatusCode::BAD_GATEWAY,
        &format!("service {service}: {what}"),
    )
}

/// Sends `req` to `endpoint` and returns its answer (buffered, at most
/// `max_response` bytes), all by `deadline` (shared by every attempt).
pub async fn forward(
    req: &DynRequest,
    endpoint: &Endpoint,
    opts: &ForwardOptions,
    deadline: tokio::time::Instant,
) -> Result<Reply, Failure> {
    let _in_flight = endpoint.enter();
    // Counted in first, then checked: a worker a rolling restart is retiring
    // either sees this request (and waits for it) or this request sees the drain.
    if endpoint.in_flight().is_draining() {
        return Err(Failure::Connect(format!(
            "instance {} is being replaced",
            endpoint.instance
        )));
    }
    let work = async {
        let mut send = connect(&endpoint.addr).await.map_err(|e| {
            Failure::Connect(format!(
                "cannot reach instance {} ({}): {e}",
                endpoint.instance, endpoint.addr
            ))
        })?;
        let target = upstream_target(&req.target, opts.strip_prefix.as_deref());
        let mut builder = Request::builder().method(req.method.clone()).uri(target);
        if let Some(h) = builder.headers_mut() {
            let logged = req
                .locals
                .iter()
                .find(|(k, _)| k == crate::plugins::logger::LOCALS_KEY)
                .and_then(|(_, v)| v.as_str());
            *h = upstream_headers(&req.headers, req.peer, logged);
        }
        let request = builder.body(Full::new(req.body.clone())).map_err(|e| {
            Failure::Answer(bad_gateway(
                &opts.service,
                &format!("cannot forward the request: {e}"),
            ))
        })?;
        let res = send.send_request(request).await.map_err(|e| {
            if e.is_canceled() || e.is_closed() {
                Failure::Connect(format!(
                    "instance {} closed the connection: {e}",
                    endpoint.instance
                ))
            } else {
                Failure::Answer(bad_gateway(
                    &opts.service,
                    &format!("bad answer from instance {}: {e}", endpoint.instance),
                ))
            }
        })?;
        let (parts, body) = res.into_parts();
        let body = Limited::new(body, opts.max_response)
            .collect()
            .await
            .map_err(|e| {
                Failure::Answer(bad_gateway(
                    &opts.service,
                    &format!(
                        "answer from instance {} unreadable or over {} bytes: {e}",
                        endpoint.instance, opts.max_response
                    ),
                ))
            })?
            .to_bytes();
        // The body is whole now: its length is set when it is sent, except
        // for HEAD, whose worker-given length is the only one there is.
        let drop_length: &[&str] = if req.method == hyper::Method::HEAD {
            &[]
        } else {
            &["content-length"]
        };
        let headers = end_to_end(&parts.headers, drop_length);
        Ok(Reply {
            status: parts.status,
            headers,
            body,
        })
    };
    match tokio::time::timeout_at(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Answer(Reply::error(
            StatusCode::GATEWAY_TIMEOUT,
            &format!(
                "service {}: no answer within {} ms",
                opts.service,
                opts.timeout.as_millis()
            ),
        ))),
    }
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
        spoof.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        spoof.insert("forwarded", HeaderValue::from_static("for=1.2.3.4"));
        spoof.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        spoof.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        let out = upstream_headers(&spoof, Some("127.0.0.1".parse().unwrap()), None);
        assert_eq!(out["x-forwarded-proto"], "http");
        assert!(out.get("forwarded").is_none());
        assert_eq!(out["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 127.0.0.1");
    }
}
