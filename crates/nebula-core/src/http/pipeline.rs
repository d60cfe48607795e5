//! A routed request's way to its answer: the route's native layers in Rust,
//! the body within its limits, then one call into JavaScript (or a dynamic
//! route's call, in Rust).
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::header::CONTENT_LENGTH;
use hyper::{HeaderMap, Request, Response, StatusCode};

use super::body::Body;
use super::body_read::read_limited;
use super::dispatch::JsRequest;
use super::dynamic::{DynCall, DynRequest, RequestStream};
use super::reply_convert::into_reply;
use super::service::Service;
use super::validate;
use crate::kernel::{run_layers, LayerCtx, NativeLayer, Reply};
use http_body_util::BodyExt;

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

/// A target looked up: what its layers see, the layers, and what answers
/// inside them.
struct Resolved<'s> {
    /// The route's pattern (a label the layers see; empty for a route id
    /// the service does not know).
    pattern: Arc<str>,
    layers: &'s [Arc<dyn NativeLayer>],
    answer: Answer,
}

/// What answers a request once its layers let it through.
enum Answer {
    /// The JavaScript handler of this route.
    Js { route: usize },
    /// A dynamic route's call, in Rust.
    Dynamic(Box<dyn DynCall>),
    /// A preflight re-routed to a route: the refusal it gets when no layer
    /// answers it.
    Ready(Reply),
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
        let Resolved {
            pattern,
            layers,
            answer,
        } = self.resolve(target);
        let answer = match instead {
            Some(reply) => Answer::Ready(reply),
            None => answer,
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
            match answer {
                Answer::Ready(reply) => reply,
                // Boxed: a script route's future is large and every
                // request's future would carry its size.
                Answer::Dynamic(call) => {
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
                Answer::Js { route } => {
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
                        valid: None,
                    };
                    self.run_handler(request, body).await
                }
            }
        };
        run_layers(layers, &mut ctx, inner).await.into()
    }

    /// The pattern, layers and answerer of `target`.
    fn resolve(&self, target: Target) -> Resolved<'_> {
        match target {
            Target::Route(id) => {
                let (pattern, layers) = match self.routes.get(id).and_then(Option::as_ref) {
                    Some(e) => (e.pattern.clone(), &e.layers[..]),
                    None => (Arc::from(""), &[][..]),
                };
                Resolved {
                    pattern,
                    layers,
                    answer: Answer::Js { route: id },
                }
            }
            Target::Dynamic { pattern, call, set } => Resolved {
                pattern,
                layers: self.dynamic.get(set).map_or(&[][..], |d| &d.layers[..]),
                answer: Answer::Dynamic(call),
            },
        }
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

    /// Reads the body, checks the request against the route's schemas, hands
    /// it to JavaScript and waits for the answer.
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
        if let Some(v) = self
            .routes
            .get(request.route)
            .and_then(Option::as_ref)
            .and_then(|r| r.validator.as_ref())
        {
            let checked = v.check(&validate::Request {
                target: &request.target,
                params: &request.params,
                headers: &request.headers,
                body: &request.body,
            });
            match checked {
                Ok(valid) => request.valid = valid,
                // Refused here: the request never crosses into JavaScript.
                Err(violations) => return validate::refusal(&violations),
            }
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
