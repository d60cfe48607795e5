//! A routed request's way to its handler: the native layers in Rust, the
//! body within its limits, then one call into JavaScript.
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{HeaderMap, Request, Response, StatusCode};

use super::body::{full, Body};
use super::body_read::read_limited;
use super::dispatch::{JsRequest, JsResponse};
use super::dynamic::{DynCall, DynRequest, RequestStream};
use super::service::Service;
use crate::kernel::{run_layers, LayerCtx, Reply};
use http_body_util::BodyExt;

impl From<Reply> for Response<Body> {
    fn from(reply: Reply) -> Self {
        let body = match reply.stream.as_ref().and_then(|s| s.take()) {
            Some(stream) => http_body_util::Either::Right(stream),
            None => full(reply.body),
        };
        let mut res = Response::new(body);
        *res.status_mut() = reply.status;
        *res.headers_mut() = reply.headers;
        res
    }
}

/// A handler's answer as a [`Reply`]. A header that is not valid HTTP is
/// dropped rather than failing the whole response; a status outside 200–599
/// becomes 500.
pub fn into_reply(answer: JsResponse) -> Reply {
    let status = if (200..=599).contains(&answer.status) {
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        tracing::warn!(
            status = answer.status,
            "a handler answered with a status outside 200-599; sent 500"
        );
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let mut headers = HeaderMap::with_capacity(answer.headers.len());
    for (k, v) in answer.headers {
        if is_framing(&k) {
            // The body is complete in memory: hyper frames it. A copied
            // Content-Length or Transfer-Encoding would corrupt the connection.
            continue;
        }
        match (header_name(&k), header_value(v)) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!(header = %k, "dropped a response header that is not valid HTTP"),
        }
    }
    Reply {
        status,
        headers,
        body: answer.body,
        stream: None,
    }
}

fn header_name(name: &str) -> Result<HeaderName, hyper::header::InvalidHeaderName> {
    if name == "content-type" {
        return Ok(CONTENT_TYPE);
    }
    HeaderName::from_bytes(name.as_bytes())
}

/// A constant value (the common content types) is used as is, not copied.
fn header_value(
    value: Cow<'static, str>,
) -> Result<HeaderValue, hyper::header::InvalidHeaderValue> {
    match value {
        Cow::Borrowed(s) if s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) => {
            Ok(HeaderValue::from_static(s))
        }
        value => HeaderValue::from_str(&value),
    }
}

/// Headers that frame the connection: hyper writes them for a complete
/// body, so a handler's or a script's copy is dropped (a stray
/// `Content-Length` or `Transfer-Encoding` would corrupt the connection).
pub(crate) fn is_framing(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ]
    .iter()
    .any(|f| name.eq_ignore_ascii_case(f))
}

/// Forgets a pending request if its client goes away before the answer.
struct PendingGuard<'a> {
    service: &'a Service,
    id: u32,
    armed: bool,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.service.pending.cancel(self.id);
        }
    }
}

/// Builds the hyper response from a handler's answer.
pub fn into_response(answer: JsResponse) -> Response<Body> {
    into_reply(answer).into()
}

/// What answers a routed request.
pub(super) enum Target {
    /// A route of the service: its handler is in JavaScript.
    Route(usize),
    /// A dynamic route (the script VM's): answered in Rust.
    Dynamic {
        pattern: Arc<str>,
        call: Box<dyn DynCall>,
        /// Which set of dynamic routes (its layers apply).
        set: usize,
    },
}

impl Service {
    /// Runs a routed request: the native layers, then the handler — or, for
    /// a preflight re-routed here, `instead` when no layer answers it.
    pub(super) async fn call_handler<B>(
        &self,
        req: Request<B>,
        target: Target,
        params: Vec<(Arc<str>, String)>,
        peer: Option<IpAddr>,
        instead: Option<Reply>,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        let headers = Arc::new(parts.headers);
        let target_str = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        let path = parts.uri.path();
        // The route's pattern and layers; for a dynamic route, what answers it.
        let (route, pattern, layers, dynamic_call): (usize, Arc<str>, &[_], _) = match target {
            Target::Route(id) => match self.routes.get(id).and_then(Option::as_ref) {
                Some(e) => (id, e.pattern.clone(), &e.layers[..], None),
                None => (id, Arc::from(""), &[][..], None),
            },
            Target::Dynamic { pattern, call, set } => {
                let layers = self.dynamic.get(set).map_or(&[][..], |d| &d.1[..]);
                (usize::MAX, pattern, layers, Some(call))
            }
        };
        let mut locals = Vec::new();
        let mut scratch = hyper::http::Extensions::new();
        let mut ctx = LayerCtx {
            method: &parts.method,
            path,
            target: &target_str,
            route: &pattern,
            params: &params,
            headers: &headers,
            peer,
            started,
            locals: &mut locals,
            scratch: &mut scratch,
        };
        let inner = |locals| async {
            match (instead, dynamic_call) {
                (Some(reply), _) => reply,
                // Boxed: a script route's future is large and every
                // request's future would carry its size.
                (None, Some(call)) => {
                    Box::pin(async {
                        let (body, stream) = if call.streams_body() {
                            match self.body_stream(&headers, body).await {
                                Ok(s) => (Bytes::new(), Some(s)),
                                Err(reply) => return reply,
                            }
                        } else {
                            match self.read_body(&headers, body).await {
                                Ok(b) => (b, None),
                                Err(reply) => return reply,
                            }
                        };
                        call.call(DynRequest {
                            method: parts.method.clone(),
                            target: target_str.clone(),
                            params: params.clone(),
                            headers: headers.clone(),
                            body,
                            stream,
                            locals,
                            peer,
                        })
                        .await
                    })
                    .await
                }
                (None, None) => {
                    let request = JsRequest {
                        id: 0,
                        route,
                        method: parts.method.clone(),
                        target: target_str.clone(),
                        params: params.clone(),
                        headers: headers.clone(),
                        body: Bytes::new(),
                        locals,
                        peer,
                    };
                    self.run_handler(request, body).await
                }
            }
        };
        run_layers(layers, &mut ctx, inner).await.into()
    }

    /// Reads a request body within the body limit and time.
    pub(super) async fn read_body<B>(&self, headers: &HeaderMap, body: B) -> Result<Bytes, Reply>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        read_limited(
            body,
            declared,
            self.config.body_limit,
            self.config.body_timeout,
        )
        .await
        .map_err(|e| e.into_reply())
    }

    /// The body as a stream cut off at the body limit; a declared length
    /// over it is refused (413) before anything is forwarded.
    async fn body_stream<B>(&self, headers: &HeaderMap, body: B) -> Result<RequestStream, Reply>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let limit = self.config.body_limit;
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            // Read (and drained) by the buffered path, which answers 413.
            return match self.read_body(headers, body).await {
                Err(reply) => Err(reply),
                Ok(_) => Err(Reply::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("request body is larger than the limit of {limit} bytes"),
                )),
            };
        }
        Ok(
            super::body_stream::LimitedStream::new(body, limit, self.config.body_timeout)
                .boxed_unsync(),
        )
    }

    /// Reads the body, hands the request to JavaScript and waits for the answer.
    async fn run_handler<B>(&self, mut request: JsRequest, body: B) -> Reply
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // No body (a GET, say): `read_limited` would return at once, but its
        // future would still be boxed or carried inline; skip it. Otherwise
        // boxed, so that the body-less requests' futures stay small.
        if !body.is_end_stream() {
            request.body = match Box::pin(self.read_body(&request.headers, body)).await {
                Ok(b) => b,
                Err(reply) => return reply,
            };
        }
        let (id, rx) = self.pending.register();
        let mut guard = PendingGuard {
            service: self,
            id,
            armed: true,
        };
        request.id = id;
        if let Err(e) = self.dispatcher.dispatch(request) {
            return Reply::error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("handler unavailable: {e}"),
            );
        }
        self.stats.js_call();
        // The handler's answer, or the 503 of the pending set's timeout sweep.
        let outcome = rx.await;
        guard.armed = false;
        match outcome {
            Ok(answer) => into_reply(answer),
            Err(_) => Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "handler ended without an answer",
            ),
        }
    }
}
