//! One request's way through the core: router, built-in routes and plugin
//! endpoints, static files, then the handler's native layers and (at most)
//! one call into JavaScript. The same path serves sockets and in-process
//! requests.
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderValue, ALLOW};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};

use super::body::Body;
use super::body_read::read_limited;
use super::config::ServerConfig;
use super::dispatch::{Dispatcher, JsResponse, Pending};
use super::mount::{Mount, MountRequest};
use super::reply::{json, json_error};
use super::router::{trie::TrieRouter, Lookup, RouteError, Router};
use super::static_files::StaticFiles;
use super::stats::{Stats, StatsSnapshot};
use crate::plugins::layer::{Endpoint, EndpointCtx, NativeLayer, Reply};

/// What `GET {prefix}/_version` reports.
#[derive(Debug, Clone, Default)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub prefix: String,
}

/// A route's pattern and the native prefix of its handler's chain.
pub(super) struct RouteEntry {
    pub pattern: Arc<str>,
    pub layers: Vec<Arc<dyn NativeLayer>>,
}

/// Collects routes and settings before the service starts serving.
pub struct ServiceBuilder {
    router: TrieRouter,
    routes: Vec<Option<RouteEntry>>,
    endpoints: Vec<Endpoint>,
    mounts: Vec<Arc<dyn Mount>>,
    info: Option<AppInfo>,
    statics: Option<StaticFiles>,
    config: ServerConfig,
}

impl ServiceBuilder {
    pub fn new(config: ServerConfig) -> Self {
        ServiceBuilder {
            router: TrieRouter::default(),
            routes: Vec::new(),
            endpoints: Vec::new(),
            mounts: Vec::new(),
            info: None,
            statics: None,
            config,
        }
    }

    /// Adds `pattern` for every method in `methods`, all answered by route `id`.
    pub fn add_route(
        &mut self,
        methods: &[Method],
        pattern: &str,
        id: usize,
    ) -> Result<(), RouteError> {
        self.add_route_with_layers(methods, pattern, id, Vec::new())
    }

    /// Like [`ServiceBuilder::add_route`], with the native layers that run in
    /// Rust (outermost first) before the handler is called.
    pub fn add_route_with_layers(
        &mut self,
        methods: &[Method],
        pattern: &str,
        id: usize,
        layers: Vec<Arc<dyn NativeLayer>>,
    ) -> Result<(), RouteError> {
        for m in methods {
            self.router.add(m.clone(), pattern, id)?;
        }
        if self.routes.len() <= id {
            self.routes.resize_with(id + 1, || None);
        }
        self.routes[id] = Some(RouteEntry {
            pattern: Arc::from(pattern),
            layers,
        });
        Ok(())
    }

    /// A route a plugin answers itself, in Rust (e.g. `GET /metrics`).
    pub fn endpoint(&mut self, endpoint: Endpoint) {
        self.endpoints.push(endpoint);
    }

    /// A component answering a few paths itself (asked before routes).
    pub fn mount(&mut self, mount: Arc<dyn Mount>) {
        self.mounts.push(mount);
    }

    /// Refuses routes that a mount would hide (its paths are asked first).
    pub fn check_mounts(&self) -> Result<(), String> {
        for mount in &self.mounts {
            for path in mount.paths() {
                let sample: Vec<&str> = path
                    .split('/')
                    .map(|seg| if seg.starts_with(':') { "x" } else { seg })
                    .collect();
                let sample = sample.join("/");
                for method in [
                    Method::GET,
                    Method::HEAD,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                    Method::OPTIONS,
                ] {
                    if let Lookup::Found(m) = self.router.lookup(&method, &sample) {
                        let pattern = self
                            .routes
                            .get(m.id)
                            .and_then(Option::as_ref)
                            .map_or("?", |r| &*r.pattern);
                        return Err(format!(
                            "route {method} {pattern} collides with {path}, which the hub answers; \
                             move one of them (HubPlugin options path / apiPrefix)"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Enables `GET {prefix}/_version` and `GET /health`.
    pub fn info(&mut self, info: AppInfo) {
        self.info = Some(info);
    }

    pub fn statics(&mut self, statics: StaticFiles) {
        self.statics = Some(statics);
    }

    pub fn build(mut self, dispatcher: Arc<dyn Dispatcher>) -> Arc<Service> {
        if !self.mounts.is_empty() && !self.endpoints.iter().any(|e| e.path == "/metrics") {
            // Without the metrics plugin, /metrics still shows what the mounts add.
            self.endpoints.push(Endpoint {
                method: Method::GET,
                path: "/metrics".into(),
                handler: Arc::new(|ctx| {
                    let mut text = String::new();
                    (ctx.extra_metrics)(&mut text);
                    let mut reply = Reply::empty(StatusCode::OK);
                    reply.headers.insert(
                        hyper::header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                    );
                    reply.body = text.into();
                    reply
                }),
            });
        }
        let version_path = self
            .info
            .as_ref()
            .map(|i| format!("{}/_version", i.prefix.trim_end_matches('/')));
        Arc::new(Service {
            router: self.router,
            routes: self.routes,
            endpoints: self.endpoints,
            mounts: self.mounts,
            version_path,
            info: self.info,
            statics: self.statics,
            dispatcher,
            pending: Pending::default(),
            stats: Stats::default(),
            config: self.config,
        })
    }
}

/// A built service: immutable routing, shared by the server and in-process requests.
pub struct Service {
    router: TrieRouter,
    pub(super) routes: Vec<Option<RouteEntry>>,
    endpoints: Vec<Endpoint>,
    mounts: Vec<Arc<dyn Mount>>,
    version_path: Option<String>,
    info: Option<AppInfo>,
    statics: Option<StaticFiles>,
    pub(super) dispatcher: Arc<dyn Dispatcher>,
    pub(super) pending: Pending,
    pub(super) stats: Stats,
    pub(super) config: ServerConfig,
}

/// Decrements the in-flight gauge however the request ends (even when the
/// client goes away and the future is dropped).
struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

impl Service {
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Delivers a handler's answer; false when nobody waits for it any more.
    pub fn complete(&self, id: u32, response: JsResponse) -> bool {
        self.pending.complete(id, response)
    }

    /// Answers one in-process request (no client address).
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.handle_from(req, None).await
    }

    /// Answers one request from `peer`. Never fails: every problem becomes a JSON reply.
    pub async fn handle_from<B>(&self, req: Request<B>, peer: Option<IpAddr>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.stats.request_started();
        let _guard = InFlight(&self.stats);
        let path = req.uri().path().to_owned();
        if let Some(mount) = self.mounts.iter().find(|m| m.claims(&path)) {
            return self.call_mount(mount.as_ref(), req, peer).await;
        }
        match self.router.lookup(req.method(), &path) {
            Lookup::Found(m) => self.call_handler(req, m.id, m.params, peer, None).await,
            Lookup::MethodNotAllowed { allow } => {
                // A route for another method must not hide a built-in or a static file.
                if let Some(res) = self
                    .builtin_or_static(req.method(), &path, req.headers())
                    .await
                {
                    return res;
                }
                let refusal = method_not_allowed(req.method(), &path, &allow);
                // A CORS preflight goes to the route of the method it asks about,
                // so that route's native layers (the CORS plugin) can answer it.
                if let Some(m) = self.preflight_target(&req, &path) {
                    return self
                        .call_handler(req, m.id, m.params, peer, Some(refusal))
                        .await;
                }
                refusal.into()
            }
            Lookup::NotFound => self.fallback(req.method(), &path, req.headers()).await,
        }
    }

    async fn call_mount<B>(
        &self,
        mount: &dyn Mount,
        req: Request<B>,
        peer: Option<IpAddr>,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let has_body =
            [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&parts.method);
        let body = if has_body {
            let declared = parts
                .headers
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            match read_limited(
                body,
                declared,
                self.config.body_limit,
                self.config.body_timeout,
            )
            .await
            {
                Ok(b) => b,
                Err(e) => return e.into_reply().into(),
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

    fn preflight_target<B>(&self, req: &Request<B>, path: &str) -> Option<super::router::Matched> {
        if req.method() != Method::OPTIONS || !req.headers().contains_key("origin") {
            return None;
        }
        let asked = req.headers().get("access-control-request-method")?;
        let asked = Method::from_bytes(asked.as_bytes()).ok()?;
        match self.router.lookup(&asked, path) {
            Lookup::Found(m) => Some(m),
            _ => None,
        }
    }

    async fn fallback(&self, method: &Method, path: &str, headers: &HeaderMap) -> Response<Body> {
        match self.builtin_or_static(method, path, headers).await {
            Some(res) => res,
            None => json_error(
                StatusCode::NOT_FOUND,
                &format!("no route for {method} {path}"),
            ),
        }
    }

    /// `_version`, `/health`, plugin endpoints and static files: answered in
    /// Rust when no route takes the request.
    async fn builtin_or_static(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
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

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("stats", &self.stats())
            .finish()
    }
}
