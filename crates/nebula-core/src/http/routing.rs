//! The order in which a request finds its answer: mounts (the hub), the
//! service's routes, built-ins and plugin endpoints, dynamic routes (the
//! script VM's), static files, then 404.
use std::net::IpAddr;

use bytes::Bytes;
use hyper::header::{HeaderValue, ALLOW};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};

use super::body::Body;
use super::dynamic::DynMatch;
use super::mount::{Mount, MountRequest};
use super::normalize::normalize_uri;
use super::pipeline::Target;
use super::reply::json;
use super::request_head::{check_expect, check_head_size, check_host, MAX_HEAD_BYTES};
use super::router::{Lookup, Matched, Router};
use super::service::{InFlight, Service};
use crate::kernel::{EndpointCtx, Reply};

impl Service {
    /// Answers one request from `peer` (`Some` for a request read from a
    /// socket, whose head is checked as RFC 9112 asks). Never fails: every
    /// problem becomes a JSON reply.
    pub async fn handle_from<B>(&self, req: Request<B>, peer: Option<IpAddr>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.stats.request_started();
        let _guard = InFlight(&self.stats);
        let mut req = req;
        if let Some(reply) = self.check_head(&mut req, peer.is_some()) {
            return reply.into();
        }
        let path = req.uri().path().to_owned();
        if let Some(mount) = self.mounts.iter().find(|m| m.claims(&path)) {
            // Every call below is boxed: inline, the largest of them would size
            // this future, which hyper copies whole at each move (4 KiB inline,
            // 720 bytes boxed; one allocation is cheaper than the copies).
            return Box::pin(self.call_mount(mount.as_ref(), req, peer)).await;
        }
        let allow = match self.router.lookup(req.method(), &path) {
            Lookup::Found(m) => {
                return Box::pin(self.call_handler(req, Target::Route(m.id), m.params, peer, None))
                    .await
            }
            Lookup::MethodNotAllowed { allow } => Some(allow),
            Lookup::NotFound => None,
        };
        // A route for another method must not hide a built-in, a dynamic
        // route or a static file.
        if let Some(res) = self.builtin(req.method(), &path) {
            return res;
        }
        if let Some((set, m)) = self.dynamic_route(req.method(), &path) {
            return Box::pin(self.call_dynamic(req, set, m, peer, None)).await;
        }
        if let Some(res) = Box::pin(self.static_file(req.method(), &path, req.headers())).await {
            return res;
        }
        let allow = self.allowed_with_dynamic(allow, &path);
        let refusal = match &allow {
            Some(allow) => method_not_allowed(req.method(), &path, allow),
            None => Reply::error(
                StatusCode::NOT_FOUND,
                &format!("no route for {} {path}", req.method()),
            ),
        };
        // A CORS preflight goes to the route of the method it asks about, so
        // that route's native layers (the CORS plugin) can answer it.
        if let Some(m) = self.preflight_target(&req, &path) {
            return Box::pin(self.call_handler(
                req,
                Target::Route(m.id),
                m.params,
                peer,
                Some(refusal),
            ))
            .await;
        }
        if let Some((set, m)) = self.dynamic_preflight(&req, &path) {
            return Box::pin(self.call_dynamic(req, set, m, peer, Some(refusal))).await;
        }
        refusal.into()
    }

    /// What is checked before routing: the head's `Host` (a request from a
    /// socket only: in-process requests are built without one) and
    /// `Expect`; then the path is normalized in place, so that everything
    /// after (routes, handlers, static files, the gateway) sees and forwards
    /// the same path.
    fn check_head<B>(&self, req: &mut Request<B>, from_socket: bool) -> Option<Reply> {
        let checked = if from_socket {
            check_head_size(req, MAX_HEAD_BYTES).and_then(|()| check_host(req))
        } else {
            Ok(())
        };
        if let Err(e) = checked.and_then(|()| check_expect(req, self.config.body_limit)) {
            return Some(e.into_reply());
        }
        normalize_uri(req.uri_mut())
            .err()
            .map(|e| Reply::error(StatusCode::BAD_REQUEST, &e.to_string()))
    }

    async fn call_dynamic<B>(
        &self,
        req: Request<B>,
        set: usize,
        m: DynMatch,
        peer: Option<IpAddr>,
        instead: Option<Reply>,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let DynMatch {
            pattern,
            params,
            call,
        } = m;
        self.call_handler(
            req,
            Target::Dynamic { pattern, call, set },
            params,
            peer,
            instead,
        )
        .await
    }

    /// The routes' `Allow` list with the dynamic routes' methods for `path` added.
    fn allowed_with_dynamic(&self, allow: Option<Vec<Method>>, path: &str) -> Option<Vec<Method>> {
        let extra: Vec<Method> = self
            .dynamic
            .iter()
            .flat_map(|d| d.routes.allowed(path))
            .collect();
        if extra.is_empty() {
            return allow;
        }
        let mut all = allow.unwrap_or_default();
        all.extend(extra);
        Some(super::router::allow_list(all))
    }

    /// The first set of dynamic routes with a route for `method` `path`: its index and the match.
    fn dynamic_route(&self, method: &Method, path: &str) -> Option<(usize, DynMatch)> {
        self.dynamic
            .iter()
            .enumerate()
            .find_map(|(i, d)| d.routes.lookup(method, path).map(|m| (i, m)))
    }

    async fn call_mount<B>(
        &self,
        mount: &dyn Mount,
        req: Request<B>,
        peer: Option<IpAddr>,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let has_body =
            [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&parts.method);
        let body = if has_body {
            match self.read_body(&parts.headers, body).await {
                Ok(b) => b,
                Err(reply) => return reply.into(),
            }
        } else {
            Bytes::new()
        };
        mount.handle(MountRequest { parts, body, peer }).into()
    }

    /// What the mounts add to `/metrics`.
    fn mount_metrics(&self, out: &mut String) {
        for m in &self.mounts {
            m.metrics(out);
        }
    }

    /// The method a CORS preflight asks about.
    fn preflight_method<B>(req: &Request<B>) -> Option<Method> {
        if req.method() != Method::OPTIONS || !req.headers().contains_key("origin") {
            return None;
        }
        let asked = req.headers().get("access-control-request-method")?;
        Method::from_bytes(asked.as_bytes()).ok()
    }

    fn preflight_target<B>(&self, req: &Request<B>, path: &str) -> Option<Matched> {
        match self.router.lookup(&Self::preflight_method(req)?, path) {
            Lookup::Found(m) => Some(m),
            _ => None,
        }
    }

    fn dynamic_preflight<B>(&self, req: &Request<B>, path: &str) -> Option<(usize, DynMatch)> {
        self.dynamic_route(&Self::preflight_method(req)?, path)
    }

    /// `_version`, `/health` and plugin endpoints: answered in Rust when no route takes the request.
    fn builtin(&self, method: &Method, path: &str) -> Option<Response<Body>> {
        let is_get = method == Method::GET || method == Method::HEAD;
        if let Some(info) = &self.info {
            if is_get && self.version_path.as_deref() == Some(path) {
                let body = format!(
                    r#"{{"name":{},"version":{},"status":"running"}}"#,
                    serde_json::Value::from(info.name.as_str()),
                    serde_json::Value::from(info.version.as_str())
                );
                return Some(json(StatusCode::OK, body));
            }
            if is_get && path == "/health" {
                return Some(json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned()));
            }
        }
        for e in &self.endpoints {
            let method_ok = e.method == method || (e.method == Method::GET && is_get);
            if method_ok && e.path == path {
                let ctx = EndpointCtx {
                    stats: self.stats.snapshot(),
                    extra_metrics: &|out: &mut String| self.mount_metrics(out),
                };
                return Some((e.handler)(&ctx).into());
            }
        }
        None
    }

    async fn static_file(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        match &self.statics {
            Some(statics) => statics.serve(method, path, headers).await,
            None => None,
        }
    }
}

fn method_not_allowed(method: &Method, path: &str, allow: &[Method]) -> Reply {
    let mut reply = Reply::error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{method} is not allowed on {path}"),
    );
    let list: Vec<&str> = allow.iter().map(Method::as_str).collect();
    if let Ok(v) = HeaderValue::from_str(&list.join(", ")) {
        reply.headers.insert(ALLOW, v);
    }
    reply
}
