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
use super::config::ServerConfig;
use super::dispatch::{Dispatcher, JsResponse, Pending};
use super::reply::{json, json_error};
use super::router::{trie::TrieRouter, Lookup, RouteError, Router};
use super::static_files::StaticFiles;
use super::stats::{Stats, StatsSnapshot};
use crate::plugins::layer::{Endpoint, NativeLayer, Reply};

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

    /// Enables `GET {prefix}/_version` and `GET /health`.
    pub fn info(&mut self, info: AppInfo) {
        self.info = Some(info);
    }

    pub fn statics(&mut self, statics: StaticFiles) {
        self.statics = Some(statics);
    }

    pub fn build(self, dispatcher: Arc<dyn Dispatcher>) -> Arc<Service> {
        let version_path = self
            .info
            .as_ref()
            .map(|i| format!("{}/_version", i.prefix.trim_end_matches('/')));
        Arc::new(Service {
            router: self.router,
            routes: self.routes,
            endpoints: self.endpoints,
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
                return Some((e.handler)(&self.stats.snapshot()).into());
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
