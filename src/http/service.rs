//! One request's way through the core: router, built-in routes, static
//! files, then the handler (one call into JavaScript). The same path serves
//! sockets and in-process requests.
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, ALLOW, CONTENT_LENGTH};
use hyper::{Method, Request, Response, StatusCode};

use super::body::{full, Body};
use super::body_read::{read_limited, BodyError};
use super::config::ServerConfig;
use super::dispatch::{Dispatcher, JsRequest, JsResponse, Pending};
use super::reply::{json, json_error};
use super::router::{trie::TrieRouter, Lookup, RouteError, Router};
use super::static_files::StaticFiles;
use super::stats::{Stats, StatsSnapshot};

/// What `GET {prefix}/_version` reports.
#[derive(Debug, Clone, Default)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub prefix: String,
}

/// Collects routes and settings before the service starts serving.
pub struct ServiceBuilder {
    router: TrieRouter,
    info: Option<AppInfo>,
    statics: Option<StaticFiles>,
    config: ServerConfig,
}

impl ServiceBuilder {
    pub fn new(config: ServerConfig) -> Self {
        ServiceBuilder {
            router: TrieRouter::default(),
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
        for m in methods {
            self.router.add(m.clone(), pattern, id)?;
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

    pub fn build(self, dispatcher: Arc<dyn Dispatcher>) -> Arc<Service> {
        let version_path = self
            .info
            .as_ref()
            .map(|i| format!("{}/_version", i.prefix.trim_end_matches('/')));
        Arc::new(Service {
            router: self.router,
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
    version_path: Option<String>,
    info: Option<AppInfo>,
    statics: Option<StaticFiles>,
    dispatcher: Arc<dyn Dispatcher>,
    pending: Pending,
    stats: Stats,
    config: ServerConfig,
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

    /// Answers one request. Never fails: every problem becomes a JSON reply.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.stats.request_started();
        let _guard = InFlight(&self.stats);
        let path = req.uri().path().to_owned();
        match self.router.lookup(req.method(), &path) {
            Lookup::Found(m) => self.call_handler(req, m.id, m.params).await,
            Lookup::MethodNotAllowed { allow } => {
                // A route for another method must not hide a built-in or a static file.
                if let Some(res) = self
                    .builtin_or_static(req.method(), &path, req.headers())
                    .await
                {
                    return res;
                }
                let message = format!("{} is not allowed on {path}", req.method());
                let mut res = json_error(StatusCode::METHOD_NOT_ALLOWED, &message);
                let list: Vec<&str> = allow.iter().map(Method::as_str).collect();
                if let Ok(v) = HeaderValue::from_str(&list.join(", ")) {
                    res.headers_mut().insert(ALLOW, v);
                }
                res
            }
            Lookup::NotFound => self.fallback(req.method(), &path, req.headers()).await,
        }
    }

    async fn fallback(
        &self,
        method: &Method,
        path: &str,
        headers: &hyper::HeaderMap,
    ) -> Response<Body> {
        match self.builtin_or_static(method, path, headers).await {
            Some(res) => res,
            None => json_error(
                StatusCode::NOT_FOUND,
                &format!("no route for {method} {path}"),
            ),
        }
    }

    /// `_version`, `/health` and static files: answered in Rust when no route takes the request.
    async fn builtin_or_static(
        &self,
        method: &Method,
        path: &str,
        headers: &hyper::HeaderMap,
    ) -> Option<Response<Body>> {
        if let Some(info) = &self.info {
            let is_get = method == Method::GET || method == Method::HEAD;
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
        match &self.statics {
            Some(statics) => statics.serve(method, path, headers).await,
            None => None,
        }
    }

    async fn call_handler<B>(
        &self,
        req: Request<B>,
        route: usize,
        params: Vec<(Arc<str>, String)>,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let body = match self.read_body(&parts.headers, body).await {
            Ok(b) => b,
            Err(res) => return res,
        };
        let target = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        let (id, rx) = self.pending.register();
        let request = JsRequest {
            id,
            route,
            method: parts.method,
            target,
            params,
            headers: parts.headers,
            body,
        };
        if let Err(e) = self.dispatcher.dispatch(request) {
            self.pending.cancel(id);
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("handler unavailable: {e}"),
            );
        }
        self.stats.js_call();
        match tokio::time::timeout(self.config.handler_timeout, rx).await {
            Ok(Ok(answer)) => into_response(answer),
            Ok(Err(_)) => json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "handler ended without an answer",
            ),
            Err(_) => {
                self.pending.cancel(id);
                let ms = self.config.handler_timeout.as_millis();
                json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("handler did not answer within {ms} ms"),
                )
            }
        }
    }

    async fn read_body<B>(
        &self,
        headers: &hyper::HeaderMap,
        body: B,
    ) -> Result<Bytes, Response<Body>>
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
        .map_err(BodyError::into_response)
    }
}

/// Builds the hyper response from a handler's answer. A header that is not
/// valid HTTP is dropped rather than failing the whole response.
pub fn into_response(answer: JsResponse) -> Response<Body> {
    let mut res = Response::new(full(answer.body));
    *res.status_mut() = if (200..=599).contains(&answer.status) {
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        tracing::warn!(
            status = answer.status,
            "a handler answered with a status outside 200-599; sent 500"
        );
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let headers = res.headers_mut();
    for (k, v) in answer.headers {
        match (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!(header = %k, "dropped a response header that is not valid HTTP"),
        }
    }
    res
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("stats", &self.stats())
            .finish()
    }
}
