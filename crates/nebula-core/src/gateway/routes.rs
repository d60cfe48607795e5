//! The gateway's routes as dynamic routes of the engine's service: they run
//! inside the same native layers as any route (auth, rate limit, CORS,
//! logging, metrics), then forward to the least busy ready instance of their
//! service. No ready instance → 503 with `Retry-After`; an instance that
//! refuses the connection → the next one is tried, then 502.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hyper::header::{HeaderValue, RETRY_AFTER};
use hyper::{Method, StatusCode};

use super::endpoint::Endpoint;
use super::forward::forward;
use super::proxy::{Failure, ForwardOptions};
use crate::http::dynamic::{DynCall, DynMatch, DynRequest, DynamicRoutes, ROUTE_METHODS};
use crate::kernel::{BoxFuture, Reply};

/// The services' routes as configured now, and their ready workers.
pub trait Upstreams: Send + Sync + 'static {
    fn routes(&self) -> Arc<[Arc<ServiceRoutes>]>;
    fn ready(&self, service: &str) -> Vec<Endpoint>;
}

/// One service's routes: `/exact/path` or `/prefix/*` (the prefix itself too).
pub struct ServiceRoutes {
    pub patterns: Vec<String>,
    pub options: ForwardOptions,
    /// Strip the matched prefix before forwarding.
    pub strip_prefix: bool,
    /// The patterns as the label a request carries (not built per request).
    labels: Vec<Arc<str>>,
    next: AtomicUsize,
}

impl ServiceRoutes {
    pub fn new(
        patterns: Vec<String>,
        options: ForwardOptions,
        strip_prefix: bool,
    ) -> ServiceRoutes {
        ServiceRoutes {
            labels: patterns.iter().map(|p| Arc::from(p.as_str())).collect(),
            patterns,
            options,
            strip_prefix,
            next: AtomicUsize::new(0),
        }
    }

    /// The pattern matching `path` and the prefix it fixes.
    fn route_for(&self, path: &str) -> Option<(&Arc<str>, &str)> {
        self.labels.iter().find_map(|p| {
            let hit = match p.strip_suffix("/*") {
                Some(base) => (path == base
                    || (path.starts_with(base) && path[base.len()..].starts_with('/')))
                .then_some(base),
                None => (path == &**p).then_some(&**p),
            };
            hit.map(|base| (p, base))
        })
    }
}

pub struct GatewayRoutes {
    pub upstreams: Arc<dyn Upstreams>,
}

/// The service whose route matches `path` most closely: an exact route
/// first, else the longest prefix; with the pattern and the prefix it fixes.
fn best_match<'a>(
    services: &'a [Arc<ServiceRoutes>],
    path: &str,
) -> Option<(&'a Arc<ServiceRoutes>, &'a Arc<str>, &'a str)> {
    services
        .iter()
        .filter_map(|s| s.route_for(path).map(|(p, base)| (s, p, base)))
        .max_by_key(|(_, p, base)| (!p.ends_with("/*"), base.len()))
}

struct ProxyCall {
    route: Arc<ServiceRoutes>,
    upstreams: Arc<dyn Upstreams>,
    strip: Option<String>,
}

impl DynamicRoutes for GatewayRoutes {
    fn lookup(&self, method: &Method, path: &str) -> Option<DynMatch> {
        if method == Method::CONNECT || method == Method::TRACE {
            return None;
        }
        let services = self.upstreams.routes();
        let (s, pattern, base) = best_match(&services, path)?;
        Some(DynMatch {
            pattern: pattern.clone(),
            params: Vec::new(),
            call: Box::new(ProxyCall {
                route: s.clone(),
                upstreams: self.upstreams.clone(),
                strip: s.strip_prefix.then(|| base.to_owned()),
            }),
        })
    }

    fn allowed(&self, path: &str) -> Vec<Method> {
        if best_match(&self.upstreams.routes(), path).is_some() {
            ROUTE_METHODS.to_vec()
        } else {
            Vec::new()
        }
    }
}

impl DynCall for ProxyCall {
    fn streams_body(&self) -> bool {
        true
    }

    fn call(self: Box<Self>, mut req: DynRequest) -> BoxFuture<Reply> {
        Box::pin(async move {
            // The route's options as they are, unless a prefix is stripped.
            let stripped;
            let options = match &self.strip {
                None => &self.route.options,
                Some(prefix) => {
                    stripped = ForwardOptions {
                        strip_prefix: Some(prefix.clone()),
                        ..self.route.options.clone()
                    };
                    &stripped
                }
            };
            let mut ready = self.upstreams.ready(&options.service);
            if ready.is_empty() {
                let mut reply = Reply::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("service {} has no ready instance", options.service),
                );
                reply
                    .headers
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                return reply;
            }
            // Least in flight first; ties take turns.
            if ready.len() > 1 {
                let turn = self.route.next.fetch_add(1, Ordering::Relaxed);
                let n = ready.len();
                ready.rotate_left(turn % n);
                ready.sort_by_key(|e| e.in_flight().get());
            }
            // One deadline for every attempt: an answer within timeoutMs, whatever happens.
            let deadline = tokio::time::Instant::now() + options.timeout;
            let mut last = String::new();
            for endpoint in ready.iter().take(3) {
                match forward(&mut req, endpoint, options, deadline).await {
                    Ok(reply) => return reply,
                    Err(Failure::Answer(reply)) => return reply,
                    // Nothing reached that worker (it just died): the next one may answer.
                    Err(Failure::Connect(why)) => last = why,
                }
            }
            Reply::error(
                StatusCode::BAD_GATEWAY,
                &format!("service {}: {last}", options.service),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(patterns: &[&str]) -> ServiceRoutes {
        let options = ForwardOptions {
            service: "py".into(),
            timeout: std::time::Duration::from_secs(1),
            strip_prefix: None,
            max_response: None,
        };
        ServiceRoutes::new(
            patterns.iter().map(|p| p.to_string()).collect(),
            options,
            true,
        )
    }

    #[test]
    fn prefix_patterns_match_the_prefix_and_below_on_segment_boundaries() {
        let r = routes(&["/api/py/*", "/exact"]);
        let r = |path: &str| {
            r.route_for(path)
                .map(|(p, base)| (p.to_string(), base.to_owned()))
        };
        let hit = |p: &str, base: &str| Some((p.to_owned(), base.to_owned()));
        assert_eq!(r("/api/py/x/y"), hit("/api/py/*", "/api/py"));
        assert_eq!(r("/api/py"), hit("/api/py/*", "/api/py"));
        assert_eq!(r("/api/python"), None);
        assert_eq!(r("/exact"), hit("/exact", "/exact"));
        assert_eq!(r("/exact/more"), None);
    }

    #[test]
    fn the_closest_route_wins_whatever_the_order() {
        let services = [
            Arc::new(routes(&["/api/*"])),
            Arc::new(routes(&["/api/py/*"])),
            Arc::new(routes(&["/api/py/health"])),
        ];
        let pick = |path: &str| best_match(&services, path).map(|(_, p, _)| p.to_string());
        assert_eq!(pick("/api/py/x").as_deref(), Some("/api/py/*"));
        assert_eq!(pick("/api/py/health").as_deref(), Some("/api/py/health"));
        assert_eq!(pick("/api/other").as_deref(), Some("/api/*"));
        assert_eq!(pick("/other"), None);
    }
}
