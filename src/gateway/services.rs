//! The gateway as the engine uses it: service specs plus their routes
//! (`ServicesPlugin` options), the supervisor once the engine serves, and
//! the dynamic routes that forward to it.
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::endpoint::Endpoint;
use super::proxy::ForwardOptions;
use super::routes::{GatewayRoutes, ServiceRoutes, Upstreams};
use super::{InstanceState, ServiceSpec, Supervisor, SupervisorOptions};

/// Keys of a service that are the proxy's (the rest is the supervisor's spec).
const ROUTE_KEYS: [&str; 5] = [
    "routes",
    "timeoutMs",
    "stripPrefix",
    "maxResponseBytes",
    "watch",
];

pub struct Gateway {
    specs: Vec<ServiceSpec>,
    runtime_dir: Option<PathBuf>,
    routes: Vec<Arc<ServiceRoutes>>,
    supervisor: Mutex<Option<Arc<Supervisor>>>,
    /// Per service, what to watch for a rolling restart.
    watch: Vec<Vec<super::watch::WatchSpec>>,
    watchers: Mutex<Vec<super::watch::Watcher>>,
}

fn route_pattern(p: &Value, at: &str) -> Result<String, String> {
    let s = p.as_str().unwrap_or_default();
    let body = s.strip_suffix("/*").unwrap_or(s);
    let ok = s.starts_with('/')
        && !body.contains('*')
        && !body.contains(':')
        && s.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{at}: {p} is not a route: use /exact/path or /prefix/* (no other wildcards or :params)"
        ))
    }
}

impl Gateway {
    /// Reads `ServicesPlugin` options: `{ services: [...], runtimeDir? }`.
    pub fn from_json(options: &Value) -> Result<Gateway, String> {
        let obj = options
            .as_object()
            .ok_or("services: options must be an object")?;
        for k in obj.keys() {
            if k != "services" && k != "runtimeDir" {
                return Err(format!("services: unknown option {k:?}"));
            }
        }
        let runtime_dir = match obj.get("runtimeDir") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(PathBuf::from(s)),
            Some(_) => return Err("runtimeDir: must be a non-empty string".into()),
        };
        let list = obj
            .get("services")
            .and_then(Value::as_array)
            .ok_or("services: must be an array of service objects")?;
        let mut specs_json = Vec::with_capacity(list.len());
        let mut routes = Vec::with_capacity(list.len());
        let mut watch = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let at = format!("services[{i}]");
            let o = item
                .as_object()
                .ok_or_else(|| format!("{at}: must be an object"))?;
            let mut spec: Map<String, Value> = o.clone();
            for k in ROUTE_KEYS {
                spec.remove(k);
            }
            specs_json.push(Value::Object(spec));
            let patterns = match o.get("routes") {
                Some(Value::Array(a)) if !a.is_empty() => a
                    .iter()
                    .map(|p| route_pattern(p, &format!("{at}.routes")))
                    .collect::<Result<Vec<_>, _>>()?,
                _ => {
                    return Err(format!(
                        "{at}.routes: must be a non-empty array like [\"/api/py/*\"]"
                    ))
                }
            };
            let opts = Value::Object(o.clone());
            let timeout = crate::plugins::int_option(&opts, "timeoutMs", 1, 3_600_000)
                .map_err(|e| format!("{at}.{e}"))?
                .unwrap_or(30_000);
            let max_response = crate::plugins::int_option(&opts, "maxResponseBytes", 1, 1 << 30)
                .map_err(|e| format!("{at}.{e}"))?
                .unwrap_or(16 << 20) as usize;
            let strip = match o.get("stripPrefix") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(format!("{at}.stripPrefix: must be true or false")),
            };
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let cwd = std::env::current_dir().unwrap_or_default();
            let base = match o.get("cwd").and_then(Value::as_str) {
                Some(c) => cwd.join(c),
                None => cwd,
            };
            watch.push(match o.get("watch") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a))
                    if a.iter().all(|p| p.as_str().is_some_and(|s| !s.is_empty())) =>
                {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|p| super::watch::WatchSpec::parse(p, &base))
                        .collect()
                }
                Some(_) => {
                    return Err(format!(
                        "{at}.watch: must be an array of paths or globs (app/**/*.py)"
                    ))
                }
            });
            let forward = ForwardOptions {
                service: name,
                timeout: Duration::from_millis(timeout),
                strip_prefix: None,
                max_response,
            };
            routes.push(Arc::new(ServiceRoutes::new(patterns, forward, strip)));
        }
        let specs = super::parse_services(&Value::Array(specs_json))?;
        Ok(Gateway {
            specs,
            runtime_dir,
            routes,
            supervisor: Mutex::new(None),
            watch,
            watchers: Mutex::new(Vec::new()),
        })
    }

    /// Every route pattern (for the conflict check with the engine's routes).
    pub fn patterns(&self) -> Vec<String> {
        self.routes
            .iter()
            .flat_map(|r| r.patterns.clone())
            .collect()
    }

    /// The dynamic routes forwarding to this gateway's workers.
    pub fn dynamic_routes(self: &Arc<Self>) -> GatewayRoutes {
        GatewayRoutes {
            services: self.routes.clone(),
            upstreams: self.clone(),
        }
    }

    fn running(&self) -> Option<Arc<Supervisor>> {
        self.supervisor.lock().clone()
    }

    /// Starts the workers (inside the tokio runtime); a no-op while they run.
    pub fn start(self: &Arc<Self>) -> Result<(), String> {
        let mut slot = self.supervisor.lock();
        if slot.is_some() {
            return Ok(());
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| e.to_string())?;
        let mut watchers = Vec::new();
        for (spec, watch) in self.specs.iter().zip(&self.watch) {
            if !watch.is_empty() {
                watchers.push(super::watch::start(
                    Arc::downgrade(self),
                    spec.name.clone(),
                    watch.clone(),
                    runtime.clone(),
                )?);
            }
        }
        *self.watchers.lock() = watchers;
        let sup = Supervisor::start(
            self.specs.clone(),
            SupervisorOptions {
                runtime_dir: self.runtime_dir.clone(),
            },
        )
        .map_err(|e| e.to_string())?;
        *slot = Some(Arc::new(sup));
        Ok(())
    }

    /// Stops every worker (SIGTERM, then SIGKILL after its grace period); `start` may run again after.
    pub async fn stop(&self) {
        self.watchers.lock().clear();
        let sup = self.supervisor.lock().take();
        if let Some(s) = sup {
            s.stop().await;
        }
    }

    /// Replaces the workers of `service` one by one without dropping requests.
    pub async fn restart(&self, service: &str) -> Result<(), String> {
        let sup = self.running().ok_or("the gateway has not started")?;
        sup.restart_rolling(service)
            .await
            .map_err(|e| e.to_string())
    }

    /// Every service with its instances, as `services.status()` reports them.
    pub fn status(&self) -> Value {
        let snapshot = self.running().map(|s| s.snapshot()).unwrap_or_default();
        let services: Vec<Value> = self
            .specs
            .iter()
            .zip(&self.routes)
            .map(|(spec, routes)| {
                let instances: Vec<Value> = snapshot
                    .iter()
                    .filter(|i| *i.service == *spec.name)
                    .map(|i| {
                        let (state, reason) = match &i.state {
                            InstanceState::Failed { reason } => ("failed".to_owned(), Some(reason.clone())),
                            InstanceState::Restarting { .. } => ("restarting".to_owned(), None),
                            other => (other.to_string(), None),
                        };
                        json!({
                            "instance": i.instance,
                            "generation": i.generation,
                            "state": state,
                            "reason": reason,
                            "pid": i.pid,
                            "restarts": i.restarts,
                            "address": i.addr.to_string(),
                            "startedAt": i.started_at.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64),
                            "lastCrash": i.last_crash,
                        })
                    })
                    .collect();
                json!({
                    "name": spec.name,
                    "routes": routes.patterns,
                    "ready": instances.iter().filter(|i| i["state"] == "ready").count(),
                    "instances": instances,
                })
            })
            .collect();
        json!({ "services": services })
    }
}

impl Upstreams for Gateway {
    fn ready(&self, service: &str) -> Vec<Endpoint> {
        self.running()
            .map(|s| s.ready_endpoints(service))
            .unwrap_or_default()
    }
}
