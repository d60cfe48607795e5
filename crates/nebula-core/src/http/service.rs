//! One request's way through the core: router, built-in routes and plugin
//! endpoints, static files, then the handler's native layers and (at most)
//! one call into JavaScript. The same path serves sockets and in-process
//! requests.
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};

use super::body::Body;
use super::config::ServerConfig;
use super::dispatch::{Dispatcher, JsResponse, Pending};
use super::dynamic::{DynamicRoutes, ROUTE_METHODS};
use super::mount::Mount;
use super::router::{trie::TrieRouter, Lookup, RouteError, Router};
use super::static_files::StaticFiles;
use super::validate::RouteValidator;
use crate::kernel::{Endpoint, NativeLayer, Reply};
use crate::kernel::{Stats, StatsSnapshot};

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
    /// The route's schemas (`@Route({ validate })`), checked before JavaScript.
    pub validator: Option<RouteValidator>,
}

/// Collects routes and settings before the service starts serving.
pub struct ServiceBuilder {
    router: TrieRouter,
    routes: Vec<Option<RouteEntry>>,
    endpoints: Vec<Endpoint>,
    mounts: Vec<Arc<dyn Mount>>,
    dynamic: Vec<DynamicSet>,
    info: Option<AppInfo>,
    statics: Option<StaticFiles>,
    config: ServerConfig,
}

/// Dynamic routes and the native layers that run around each of them.
pub(super) struct DynamicSet {
    pub routes: Arc<dyn DynamicRoutes>,
    /// Outermost first.
    pub layers: Vec<Arc<dyn NativeLayer>>,
}

impl ServiceBuilder {
    pub fn new(config: ServerConfig) -> Self {
        ServiceBuilder {
            router: TrieRouter::default(),
            routes: Vec::new(),
            endpoints: Vec::new(),
            mounts: Vec::new(),
            dynamic: Vec::new(),
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
            validator: None,
        });
        Ok(())
    }

    /// Checks route `id`'s requests against `validator` before its handler
    /// runs (after its native layers). Returns false for an unknown route id.
    pub fn validate_route(&mut self, id: usize, validator: RouteValidator) -> bool {
        match self.routes.get_mut(id).and_then(Option::as_mut) {
            Some(entry) => {
                entry.validator = Some(validator);
                true
            }
            None => false,
        }
    }

    /// A route a plugin answers itself, in Rust (e.g. `GET /metrics`).
    pub fn endpoint(&mut self, endpoint: Endpoint) {
        self.endpoints.push(endpoint);
    }

    /// A component answering a few paths itself (asked before routes).
    pub fn mount(&mut self, mount: Arc<dyn Mount>) {
        self.mounts.push(mount);
    }

    /// Routes that change while the service runs, asked after the routes and
    /// built-ins and before static files, inside `layers` (outermost first).
    pub fn dynamic(&mut self, routes: Arc<dyn DynamicRoutes>, layers: Vec<Arc<dyn NativeLayer>>) {
        self.dynamic.push(DynamicSet { routes, layers });
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
                for method in ROUTE_METHODS {
                    if let Lookup::Found(m) = self.router.lookup(&method, &sample) {
                        let pattern = self
                            .routes
                            .get(m.id)
                            .and_then(Option::as_ref)
                            .map_or("?", |r| &*r.pattern);
                        return Err(format!(
                            "route {method} {pattern} collides with {path}, which a built-in component answers \
                             (the hub: HubPlugin options path / apiPrefix; the script VM: /admin/...); move the route"
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
            dynamic: self.dynamic,
            version_path,
            info: self.info,
            statics: self.statics,
            dispatcher,
            pending: Pending::new(self.config.handler_timeout),
            stats: Stats::default(),
            config: self.config,
        })
    }
}

/// A built service: immutable routing, shared by the server and in-process requests.
pub struct Service {
    pub(super) router: TrieRouter,
    pub(super) routes: Vec<Option<RouteEntry>>,
    pub(super) endpoints: Vec<Endpoint>,
    pub(super) mounts: Vec<Arc<dyn Mount>>,
    /// Sets of dynamic routes (the script VM's, the gateway's), asked in order.
    pub(super) dynamic: Vec<DynamicSet>,
    pub(super) version_path: Option<String>,
    pub(super) info: Option<AppInfo>,
    pub(super) statics: Option<StaticFiles>,
    pub(super) dispatcher: Arc<dyn Dispatcher>,
    pub(super) pending: Arc<Pending>,
    pub(super) stats: Stats,
    pub(super) config: ServerConfig,
}

/// Decrements the in-flight gauge however the request ends (even when the
/// client goes away and the future is dropped).
pub(super) struct InFlight<'a>(pub(super) &'a Stats);

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
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.handle_from(req, None).await
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("stats", &self.stats())
            .finish()
    }
}
