//! Sending one request to a worker: plain HTTP/1.1 over its Unix socket (or
//! TCP), on a pooled connection when one is idle, both bodies streamed, and
//! every failure answered as JSON within the timeout: 502 (unreachable,
//! broken answer, an unasked-for `101 Switching Protocols`), 504 (no answer in time), 413 (request body over the limit).
use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::{HeaderMap, Request, StatusCode};

use super::endpoint::Endpoint;
use super::pool::{self, Conn, Pool};
use super::proxy::{
    strip_hop_by_hop, upstream_headers, upstream_target, user_header, Failure, ForwardOptions,
    USER_HEADER,
};
use super::upstream_body::{SentBody, UpstreamBody};
use crate::http::body_read::BodyError;
use crate::http::body_stream::{Stalled, TooLarge};
use crate::http::dynamic::DynRequest;
use crate::kernel::{Reply, StreamBody, Streamed};

fn bad_gateway(service: &str, what: &str) -> Reply {
    Reply::error(
        StatusCode::BAD_GATEWAY,
        &format!("service {service}: {what}"),
    )
}

/// A connection to `endpoint`: an idle pooled one (true) or a new one.
/// The usual case (a pooled one, ready at once) awaits nothing and keeps
/// the request's future small: the rest is boxed.
async fn connection(endpoint: &Endpoint, pooled_ok: bool) -> Result<(Conn, bool), Failure> {
    if pooled_ok {
        while let Some(mut c) = endpoint.pool().take() {
            // Both bodies of its last request are done: ready at once, or closed.
            let ready = c
                .driver
                .drive(std::future::poll_fn(|cx| c.sender.poll_ready(cx)))
                .now_or_never();
            match ready {
                Some(Some(Ok(()))) => return Ok((c, true)),
                Some(_) => c.close(),
                None => {
                    if Box::pin(ready_soon(&mut c)).await {
                        return Ok((c, true));
                    }
                    c.close();
                }
            }
        }
    }
    Box::pin(connect(endpoint)).await
}

/// Whether a pooled connection not ready at once gets ready soon.
async fn ready_soon(c: &mut Conn) -> bool {
    let ready = c
        .driver
        .drive(std::future::poll_fn(|cx| c.sender.poll_ready(cx)));
    matches!(
        tokio::time::timeout(Duration::from_millis(250), ready).await,
        Ok(Some(Ok(())))
    )
}

/// A new connection to `endpoint`, ready for a request.
async fn connect(endpoint: &Endpoint) -> Result<(Conn, bool), Failure> {
    let mut c = pool::connect(&endpoint.addr).await.map_err(|e| {
        Failure::Connect(format!(
            "cannot reach instance {} ({}): {e}",
            endpoint.instance, endpoint.addr
        ))
    })?;
    let closed = |e: &dyn std::fmt::Display| {
        Failure::Connect(format!(
            "instance {} closed the connection: {e}",
            endpoint.instance
        ))
    };
    match c
        .driver
        .drive(std::future::poll_fn(|cx| c.sender.poll_ready(cx)))
        .await
    {
        Some(Ok(())) => Ok((c, false)),
        Some(Err(e)) => Err(closed(&e)),
        None => Err(closed(&"closed")),
    }
}

/// Methods a request of which may be sent twice (RFC 9110 §9.2.2).
fn idempotent(m: &hyper::Method) -> bool {
    use hyper::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(m)
}

/// What went wrong with the client's request body, if that failed the forward.
fn body_error(e: &hyper::Error) -> Option<BodyError> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(t) = s.downcast_ref::<TooLarge>() {
            return Some(BodyError::TooLarge { limit: t.limit });
        }
        if s.is::<Stalled>() {
            return Some(BodyError::Timeout);
        }
        source = s.source();
    }
    None
}

/// Sends `req` to `endpoint`; its answer's head must arrive by `deadline`
/// (shared by every attempt), then the body streams. The request body is
/// taken only when a connection is ready: a failure to connect leaves it in
/// `req` for the next instance.
pub async fn forward(
    req: &mut DynRequest,
    endpoint: &Endpoint,
    opts: &ForwardOptions,
    deadline: tokio::time::Instant,
) -> Result<Reply, Failure> {
    let in_flight = endpoint.enter();
    // Counted in first, then checked: a worker a rolling restart is retiring
    // either sees this request (and waits for it) or this request sees the drain.
    if endpoint.in_flight().is_draining() {
        return Err(Failure::Connect(format!(
            "instance {} is being replaced",
            endpoint.instance
        )));
    }
    // Pinned where it is: the request's future is not moved into the timeout.
    let answered = {
        let work = std::pin::pin!(async {
            let target = upstream_target(&req.target, opts.strip_prefix.as_deref());
            // The string's buffer becomes the URI's, not copied.
            let uri = hyper::Uri::from_maybe_shared(Bytes::from(target)).map_err(|e| {
                Failure::Answer(bad_gateway(
                    &opts.service,
                    &format!("cannot forward {:?}: {e}", req.target),
                ))
            })?;
            // Built once, moved into the request; an attempt that fails unsent
            // hands them back.
            let mut headers = Some(request_headers(req));
            // A request without a body can be sent again when it is idempotent.
            if req
                .stream
                .as_ref()
                .is_some_and(http_body::Body::is_end_stream)
            {
                // No body at all (a GET, say): nothing to stream.
                req.stream = None;
            }
            let replayable = req.stream.is_none() && req.body.is_empty() && idempotent(&req.method);
            // A pooled connection the worker closed meanwhile refuses the request
            // unsent (or, for a replayable one, fails it): it goes again on a new one.
            let mut pooled_ok = true;
            loop {
                let (mut conn, pooled) = connection(endpoint, pooled_ok).await?;
                let body = match req.stream.take() {
                    Some(s) => SentBody::new(s, Arc::clone(&conn.sent)).boxed_unsync(),
                    None if req.body.is_empty() => {
                        conn.sent.store(true, std::sync::atomic::Ordering::Release);
                        pool::empty()
                    }
                    None => {
                        SentBody::new(full(req.body.clone()), Arc::clone(&conn.sent)).boxed_unsync()
                    }
                };
                let mut request = Request::new(body);
                *request.method_mut() = req.method.clone();
                *request.uri_mut() = uri.clone();
                *request.headers_mut() = headers.take().unwrap_or_else(|| request_headers(req));
                let sent = conn.sender.try_send_request(request);
                let outcome = match conn.driver.drive(sent).await {
                    Some(outcome) => outcome,
                    // The connection ended and took the request with it.
                    None => {
                        if pooled && replayable {
                            pooled_ok = false;
                            continue;
                        }
                        return Err(Failure::Answer(bad_gateway(
                            &opts.service,
                            &format!("instance {} closed the connection", endpoint.instance),
                        )));
                    }
                };
                match outcome {
                    Ok(res) => return Ok((res, conn)),
                    Err(mut e) => {
                        conn.close();
                        if let Some(unsent) = e.take_message() {
                            let (parts, body) = unsent.into_parts();
                            req.stream = Some(body);
                            headers = Some(parts.headers);
                            if pooled {
                                pooled_ok = false;
                                continue;
                            }
                            return Err(Failure::Connect(format!(
                                "instance {} closed the connection: {}",
                                endpoint.instance,
                                e.error()
                            )));
                        }
                        let e = e.into_error();
                        if pooled
                            && replayable
                            && (e.is_incomplete_message() || e.is_closed() || e.is_canceled())
                        {
                            pooled_ok = false;
                            continue;
                        }
                        if let Some(body) = body_error(&e) {
                            // 413 (with `Connection: close`) or 408, as for a body read whole.
                            return Err(Failure::Answer(body.into_reply()));
                        }
                        return Err(Failure::Answer(bad_gateway(
                            &opts.service,
                            &format!("bad answer from instance {}: {e}", endpoint.instance),
                        )));
                    }
                }
            }
        });
        tokio::time::timeout_at(deadline, work).await
    };
    let (res, conn) = match answered {
        Ok(r) => r?,
        Err(_) => {
            return Err(Failure::Answer(Reply::error(
                StatusCode::GATEWAY_TIMEOUT,
                &format!(
                    "service {}: no answer within {} ms",
                    opts.service,
                    opts.timeout.as_millis()
                ),
            )))
        }
    };
    let (mut parts, mut body) = res.into_parts();
    if parts.status.is_informational() {
        // hyper hands on only a 101 (other 1xx are skipped for the final
        // answer). The gateway forwards no `Upgrade`, so the worker switched
        // protocols unasked: passing the 101 on would switch the client's
        // connection too (losing what it pipelined), and this connection
        // now speaks something else, so it is closed, never pooled.
        conn.close();
        return Err(Failure::Answer(bad_gateway(
            &opts.service,
            &format!(
                "instance {} answered {} to a request that asked for no protocol switch (the gateway does not proxy upgrades)",
                endpoint.instance, parts.status
            ),
        )));
    }
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let (Some(n), Some(limit)) = (declared, opts.max_response) {
        if n > limit && req.method != hyper::Method::HEAD {
            return Err(Failure::Answer(bad_gateway(
                &opts.service,
                &format!(
                    "answer from instance {} is {n} bytes, over the limit of {limit}",
                    endpoint.instance
                ),
            )));
        }
    }
    strip_hop_by_hop(&mut parts.headers);
    // A small answer is usually whole by now (read with its head): passed on
    // as it is, its connection back in the pool and its request done at
    // once. Still a stream to the layers (a cache leaves it alone).
    let first = match body.frame().now_or_never() {
        None => None,
        Some(None) => Some(Frame::data(Bytes::new())),
        Some(Some(Ok(frame))) => Some(frame),
        Some(Some(Err(e))) => {
            conn.close();
            return Err(Failure::Answer(bad_gateway(
                &opts.service,
                &format!(
                    "the answer of instance {} broke off: {e}",
                    endpoint.instance
                ),
            )));
        }
    };
    let first_len = first
        .as_ref()
        .and_then(Frame::data_ref)
        .map_or(0, |d| d.len() as u64);
    if let Some(limit) = opts.max_response {
        if first_len > limit {
            conn.close();
            return Err(Failure::Answer(bad_gateway(
                &opts.service,
                &format!(
                    "answer from instance {} is over the limit of {limit} bytes",
                    endpoint.instance
                ),
            )));
        }
    }
    let stream = match first {
        Some(frame) if http_body::Body::is_end_stream(&body) => {
            endpoint.pool().give(conn);
            drop(in_flight);
            whole_answer(frame)
        }
        first => {
            let pool: Arc<Pool> = endpoint.pool().clone();
            let body = UpstreamBody::new(
                body,
                first,
                opts.timeout,
                opts.max_response,
                (conn, pool),
                in_flight,
            );
            http_body_util::BodyExt::boxed_unsync(body)
        }
    };
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body: Bytes::new(),
        stream: Some(Streamed::new(stream)),
    })
}

/// The headers for the worker: the client's, forwarded (see `proxy.rs`),
/// with the access log's request id and the verified claims, if any.
fn request_headers(req: &DynRequest) -> HeaderMap {
    let local = |name: &str| req.locals.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let logged = local(crate::kernel::locals::REQUEST_ID).and_then(|v| v.as_str());
    let mut headers = upstream_headers(&req.headers, req.peer, logged);
    if let Some(v) = local(crate::kernel::locals::USER).and_then(user_header) {
        headers.insert(USER_HEADER, v);
    }
    headers
}

/// A whole answer (its one frame) as a stream body.
fn whole_answer(frame: Frame<Bytes>) -> StreamBody {
    match frame.into_data() {
        Ok(data) => http_body_util::Full::new(data)
            .map_err(|never| match never {})
            .boxed_unsync(),
        Err(trailers) => {
            http_body_util::StreamBody::new(futures_util::stream::iter([Ok(trailers)]))
                .boxed_unsync()
        }
    }
}

fn full(bytes: bytes::Bytes) -> crate::http::dynamic::RequestStream {
    use http_body_util::BodyExt;
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}
