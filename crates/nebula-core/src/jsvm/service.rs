//! [`Jsvm`]: the current generation, requests into it, reloads, events out of
//! it, and what the admin endpoints and `/metrics` show.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::{HeaderMap, Method, StatusCode};
use parking_lot::{Mutex, RwLock};

use super::config::JsvmConfig;
use super::errors::{busy_reply, Failure, LoadError};
use super::generation::{BuildEnv, Generation};
use super::hub_hooks::HubHooks;
use super::plugins::PluginStates;
use super::pool::Submit;
use super::stats::Stats;
use super::task::{ReplyTo, TaskKind};
use super::watch::{self, Watcher};
use super::JsvmEvents;
use crate::hub::Hub;
use crate::kernel::Reply;

/// A hook route found for a request; it keeps its generation alive.
pub struct HookRoute {
    pub pattern: Arc<str>,
    pub params: Vec<(Arc<str>, String)>,
    index: usize,
    generation: Arc<Generation>,
}

impl HookRoute {
    /// The generation the route belongs to.
    pub fn generation(&self) -> u64 {
        self.generation.id
    }
}

/// The request as a hook sees it (the body is read before the hook runs).
pub struct HookRequest {
    pub method: Method,
    /// Path and query, as received.
    pub target: String,
    pub headers: Arc<HeaderMap>,
    pub body: Bytes,
    /// Values set by native layers (e.g. JWT claims as `user`): `e.get(key)`.
    pub locals: Vec<(String, serde_json::Value)>,
    pub peer: Option<IpAddr>,
}

/// The script VM. See the [module docs](super).
pub struct Jsvm {
    config: JsvmConfig,
    events: Arc<dyn JsvmEvents>,
    plugins: Arc<PluginStates>,
    stats: Arc<Stats>,
    dispatch: tracing::Dispatch,
    current: RwLock<Arc<Generation>>,
    last_error: Mutex<Option<LoadError>>,
    reload_lock: Mutex<()>,
    next_generation: AtomicU64,
    watcher: Mutex<Option<Watcher>>,
    /// Set by `shutdown`: no generation may start serving after it.
    stopped: std::sync::atomic::AtomicBool,
    /// The engine's hub: its events run the `onWs*` hooks.
    hub: Option<Arc<Hub>>,
}

impl Jsvm {
    /// Builds generation 1 (its load error is returned) and starts the
    /// watcher when `config.watch`.
    pub fn start(config: JsvmConfig, events: Arc<dyn JsvmEvents>) -> Result<Arc<Jsvm>, LoadError> {
        Jsvm::start_with_hub(config, events, None)
    }

    /// [`start`](Self::start), with the engine's hub: scripts get `hub`,
    /// `onWsConnect`, `onWsDisconnect` and `onWsMessage`.
    pub fn start_with_hub(
        config: JsvmConfig,
        events: Arc<dyn JsvmEvents>,
        hub: Option<Arc<Hub>>,
    ) -> Result<Arc<Jsvm>, LoadError> {
        let plugins = Arc::new(PluginStates::default());
        let stats = Arc::new(Stats::default());
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let first = Generation::build(
            1,
            BuildEnv {
                config: &config,
                events: events.clone(),
                plugins: plugins.clone(),
                stats: stats.clone(),
                dispatch: dispatch.clone(),
                hub: hub.clone(),
            },
        )
        .inspect_err(|e| tracing::error!(error = %e, "jsvm: cannot load the hook files"))?;
        let jsvm = Arc::new(Jsvm {
            config,
            events,
            plugins,
            stats,
            dispatch,
            current: RwLock::new(first.clone()),
            last_error: Mutex::new(None),
            reload_lock: Mutex::new(()),
            next_generation: AtomicU64::new(2),
            watcher: Mutex::new(None),
            stopped: std::sync::atomic::AtomicBool::new(false),
            hub,
        });
        if let Some(hub) = &jsvm.hub {
            hub.set_scripts(Some(Arc::new(HubHooks(Arc::downgrade(&jsvm)))));
        }
        jsvm.activate(&first);
        if jsvm.config.watch {
            let mut dirs = vec![jsvm.config.hooks_dir.clone()];
            dirs.extend(jsvm.config.plugins_dir.clone());
            let w = watch::start(Arc::downgrade(&jsvm), &dirs, jsvm.config.watch_debounce)
                .map_err(|m| LoadError::new(jsvm.config.hooks_dir.display().to_string(), m))?;
            *jsvm.watcher.lock() = Some(w);
        }
        Ok(jsvm)
    }

    /// A generation just became current: cron, then `onBootstrap` once.
    fn activate(&self, g: &Arc<Generation>) {
        g.start_cron();
        if g.table.has_bootstrap {
            let _ = g.submit(
                TaskKind::Chain { chain: "bootstrap" },
                Arc::from("onBootstrap"),
                ReplyTo::Nobody,
            );
        }
    }

    /// The hook route for a request in the current generation.
    pub fn lookup(&self, method: &Method, path: &str) -> Option<HookRoute> {
        let generation = self.current.read().clone();
        let (index, params) = generation.table.lookup(method, path)?;
        Some(HookRoute {
            pattern: generation.table.routes[index].pattern.clone(),
            params,
            index,
            generation,
        })
    }

    /// Runs the route's chain (onRequest hooks, routerUse middlewares, the
    /// route's middlewares, its handler) in the pool. Errors become JSON
    /// replies: 503 on timeout or when busy (`Retry-After: 1`), 500 when the
    /// script fails (message only, never the stack), 400 for a bad JSON body.
    pub async fn call(&self, route: &HookRoute, req: HookRequest) -> Reply {
        let g = &route.generation;
        let entry = &g.table.routes[route.index];
        let meta = request_meta(route, &req);
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let kind = TaskKind::Route {
            index: route.index,
            meta,
            body,
        };
        match g.submit(kind, entry.label.clone(), ReplyTo::Http(tx)) {
            Submit::Queued => {}
            Submit::Busy => {
                self.stats.busy.fetch_add(1, Relaxed);
                return busy_reply("all script runtimes are busy");
            }
            Submit::Stopped => {
                return Reply::error(StatusCode::SERVICE_UNAVAILABLE, "the script VM is stopped")
            }
        }
        let c = &g.pool.shared.cfg;
        let outer = c.queue_timeout + c.timeout + c.grace + Duration::from_millis(250);
        match tokio::time::timeout(outer, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Failure::Reset.reply("the script runtime stopped"),
            Err(_) => {
                self.stats.timeouts.fetch_add(1, Relaxed);
                Failure::Timeout.reply("the script ran past its deadline")
            }
        }
    }

    /// Builds a new generation from the folders and swaps it in; on error the
    /// current one keeps serving and the error is kept for [`stats`](Self::stats).
    pub fn reload(&self) -> Result<u64, LoadError> {
        let _one = self.reload_lock.lock();
        if self.stopped.load(Relaxed) {
            return Err(LoadError::new(
                self.config.hooks_dir.display().to_string(),
                "the script VM is stopped".to_owned(),
            ));
        }
        let id = self.next_generation.fetch_add(1, Relaxed);
        let built = Generation::build(
            id,
            BuildEnv {
                config: &self.config,
                events: self.events.clone(),
                plugins: self.plugins.clone(),
                stats: self.stats.clone(),
                dispatch: self.dispatch.clone(),
                hub: self.hub.clone(),
            },
        );
        let next = match built {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(file = %e.file, line = e.line, col = e.col, message = %e.message, "jsvm: reload failed; the previous generation keeps serving");
                self.stats.reload_errors.fetch_add(1, Relaxed);
                *self.last_error.lock() = Some(e.clone());
                return Err(e);
            }
        };
        self.stats.retain(&next.table.labels(&next.cron));
        let old = std::mem::replace(&mut *self.current.write(), next.clone());
        old.retire(None);
        drop(old);
        *self.last_error.lock() = None;
        self.activate(&next);
        Ok(id)
    }

    /// `engine.jsvm.emit(name, data)`: runs the `app.on(name)` listeners in one runtime.
    pub fn emit(&self, name: &str, data_json: &str) {
        let g = self.current.read().clone();
        if !g.table.events.contains(name) {
            return;
        }
        let kind = TaskKind::Event {
            name: name.into(),
            data: data_json.into(),
        };
        if let Submit::Busy | Submit::Stopped =
            g.submit(kind, Arc::from(format!("event:{name}")), ReplyTo::Nobody)
        {
            tracing::warn!(event = %name, "jsvm: event dropped, the pool is full or stopped");
        }
    }

    /// The engine's hub, when scripts have one.
    pub fn hub(&self) -> Option<&Arc<Hub>> {
        self.hub.as_ref()
    }

    /// The generation currently serving.
    pub fn generation(&self) -> u64 {
        self.current.read().id
    }

    pub fn stats(&self) -> serde_json::Value {
        let g = self.current.read().clone();
        let s = &g.pool.shared;
        let mut out = serde_json::json!({
            "generation": g.id,
            "poolSize": s.cfg.size,
            "workers": s.alive.load(Relaxed),
            "busy": s.busy.load(Relaxed),
            "queued": s.queued(),
            "queueLimit": s.cfg.queue_limit,
            "timeoutMs": s.cfg.timeout.as_millis() as u64,
            "memoryLimitMb": self.config.memory_limit_mb,
            "hooks": self.stats.hooks_json(),
            "lastReloadError": self.last_error.lock().as_ref().map(|e| e.to_json()),
        });
        if let (Some(o), serde_json::Value::Object(c)) =
            (out.as_object_mut(), self.stats.counters_json())
        {
            o.extend(c);
        }
        out
    }

    /// For `GET /admin/hooks`.
    pub fn hooks(&self) -> serde_json::Value {
        let g = self.current.read().clone();
        let mut v = g.table.listing.clone();
        v["generation"] = g.id.into();
        v
    }

    /// For `GET /admin/plugins`, with the run-time switch applied.
    pub fn plugins(&self) -> serde_json::Value {
        let g = self.current.read().clone();
        let list: Vec<serde_json::Value> = g
            .table
            .plugins
            .iter()
            .map(|p| {
                let mut p = p.clone();
                if let Some(on) = p["id"].as_str().and_then(|id| self.plugins.enabled(id)) {
                    p["enabled"] = on.into();
                }
                p
            })
            .collect();
        serde_json::Value::Array(list)
    }

    /// Turns a plugin's hooks on or off (kept across reloads). False if no
    /// plugin has that id.
    pub fn set_plugin_enabled(&self, id: &str, enabled: bool) -> bool {
        let g = self.current.read().clone();
        if !g.table.plugins.iter().any(|p| p["id"] == id) {
            return false;
        }
        self.plugins.set(id, enabled);
        true
    }

    /// Prometheus text, prefix `nebula_jsvm_`.
    pub fn render_metrics(&self, out: &mut String) {
        let g = self.current.read().clone();
        let s = &g.pool.shared;
        let gauges = [
            ("pool_size", "Runtimes in the pool", s.cfg.size as u64),
            (
                "busy",
                "Runtimes running a script now",
                s.busy.load(Relaxed) as u64,
            ),
            ("queued", "Tasks waiting for a runtime", s.queued() as u64),
            ("generation", "Generation serving", g.id),
            (
                "workers",
                "Runtimes alive in the serving pool",
                s.alive.load(Relaxed) as u64,
            ),
            (
                "stuck_threads",
                "Threads given up in native code that have not exited yet (process-wide)",
                super::pool::stuck_threads() as u64,
            ),
        ];
        self.stats.render(out, &gauges);
    }

    /// Runs `onTerminate` (waiting up to the timeout), stops cron, the watcher
    /// and the workers. Requests after this get 503.
    pub fn shutdown(&self) {
        if self.stopped.swap(true, Relaxed) {
            return; // already stopped
        }
        self.watcher.lock().take();
        if let Some(hub) = &self.hub {
            hub.set_scripts(None);
        }
        // A reload in progress finishes first; later ones see `stopped`.
        let _one = self.reload_lock.lock();
        let g = self.current.read().clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        g.retire(Some(tx));
        if g.table.has_terminate {
            let _ = rx.recv_timeout(g.pool.shared.cfg.timeout + g.pool.shared.cfg.grace);
        }
        g.pool.shared.stop();
        if !g
            .pool
            .shared
            .wait_exited(g.pool.shared.cfg.timeout + Duration::from_secs(2))
        {
            tracing::warn!("jsvm: some runtimes did not stop in time");
        }
    }

    pub(crate) fn current_generation(&self) -> Arc<Generation> {
        self.current.read().clone()
    }
}

/// The request as JSON for the prelude (parsed there only if a hook reads
/// `e.request` or `e.get`), written directly: no `serde_json::Value` tree.
fn request_meta(route: &HookRoute, req: &HookRequest) -> String {
    let (path, query) = match req.target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (req.target.as_str(), ""),
    };
    let mut out = String::with_capacity(128 + req.target.len() * 2 + req.headers.len() * 48);
    out.push_str("{\"method\":");
    json_str(&mut out, req.method.as_str());
    out.push_str(",\"target\":");
    json_str(&mut out, &req.target);
    out.push_str(",\"path\":");
    json_str(&mut out, path);
    out.push_str(",\"query\":");
    json_str(&mut out, query);
    // Keys in order, the last value of a repeated key (as a JSON object
    // built by insertion into a sorted map, which this used to be).
    out.push_str(",\"params\":{");
    if !route.params.is_empty() {
        let params: BTreeMap<&str, &str> = route
            .params
            .iter()
            .map(|(k, v)| (&**k, v.as_str()))
            .collect();
        for (i, (k, v)) in params.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_str(&mut out, k);
            out.push(':');
            json_str(&mut out, v);
        }
    }
    // A repeated header is one entry, its values joined with ", ".
    out.push_str("},\"headers\":{");
    let mut names: Vec<&hyper::header::HeaderName> = req.headers.keys().collect();
    names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(&mut out, name.as_str());
        out.push(':');
        let mut values = req.headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(v), None) => json_str(&mut out, &String::from_utf8_lossy(v.as_bytes())),
            (first, second) => {
                let mut joined = String::new();
                for (i, v) in first.into_iter().chain(second).chain(values).enumerate() {
                    if i > 0 {
                        joined.push_str(", ");
                    }
                    joined.push_str(&String::from_utf8_lossy(v.as_bytes()));
                }
                json_str(&mut out, &joined);
            }
        }
    }
    out.push_str("},\"locals\":{");
    if !req.locals.is_empty() {
        let locals: BTreeMap<&str, &serde_json::Value> =
            req.locals.iter().map(|(k, v)| (k.as_str(), v)).collect();
        for (i, (k, v)) in locals.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_str(&mut out, k);
            out.push(':');
            out.push_str(&v.to_string());
        }
    }
    out.push_str("},\"peer\":");
    match req.peer {
        Some(p) => {
            out.push('"');
            let _ = write!(out, "{p}");
            out.push('"');
        }
        None => out.push_str("null"),
    }
    out.push('}');
    out
}

/// `s` as a JSON string literal.
fn json_str(out: &mut String, s: &str) {
    crate::support::json_text::push_str_literal(out, s);
}
