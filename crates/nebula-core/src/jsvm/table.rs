//! A generation's registrations in Rust: the hook routes in their own trie,
//! the cron jobs, and what the admin endpoints list.
use std::collections::HashSet;
use std::sync::Arc;

use hyper::Method;
use serde::Deserialize;

use super::cron::CronTable;
use super::errors::LoadError;
use crate::http::router::trie::TrieRouter;
use crate::http::router::{Lookup, Router};

#[derive(Debug, Deserialize)]
struct RouteInfo {
    method: String,
    path: String,
    file: String,
}

#[derive(Debug, Deserialize)]
struct CronInfo {
    id: String,
    expr: String,
    file: String,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    routes: Vec<RouteInfo>,
    cron: Vec<CronInfo>,
    events: Vec<serde_json::Value>,
    hooks: serde_json::Value,
    middlewares: usize,
    plugins: Vec<serde_json::Value>,
}

/// A route's captured parameters, in pattern order.
pub type Params = Vec<(Arc<str>, String)>;

pub struct RouteEntry {
    pub pattern: Arc<str>,
    /// `GET /api/x`: the stats label.
    pub label: Arc<str>,
}

pub struct HookTable {
    router: TrieRouter,
    pub routes: Vec<RouteEntry>,
    /// For `/admin/hooks`.
    pub listing: serde_json::Value,
    /// For `/admin/plugins` (config as loaded; the switch is applied on read).
    pub plugins: Vec<serde_json::Value>,
    pub events: HashSet<String>,
    pub has_bootstrap: bool,
    pub has_terminate: bool,
    pub has_ws_connect: bool,
    pub has_ws_disconnect: bool,
    /// Message types with `onWsMessage` hooks.
    pub ws_types: HashSet<String>,
}

impl HookTable {
    /// Reads the manifest; adds the routes to a trie and the jobs to `cron`.
    pub fn build(manifest: &str, cron: &CronTable) -> Result<HookTable, LoadError> {
        let m: Manifest = serde_json::from_str(manifest)
            .map_err(|e| LoadError::new("<manifest>", e.to_string()))?;
        let mut router = TrieRouter::default();
        let mut routes = Vec::new();
        for (i, r) in m.routes.iter().enumerate() {
            let method = Method::from_bytes(r.method.as_bytes())
                .map_err(|e| LoadError::new(r.file.clone(), e.to_string()))?;
            router
                .add(method, &r.path, i)
                .map_err(|e| LoadError::new(r.file.clone(), format!("routerAdd: {e}")))?;
            routes.push(RouteEntry {
                pattern: Arc::from(r.path.as_str()),
                label: Arc::from(format!("{} {}", r.method, r.path)),
            });
        }
        for c in &m.cron {
            cron.add(&c.id, &c.expr)
                .map_err(|e| LoadError::new(c.file.clone(), e.to_string()))?;
        }
        let count = |k: &str| m.hooks[k].as_array().map_or(0, |a| a.len());
        let listing = serde_json::json!({
            "routes": m.routes.iter().map(|r| serde_json::json!({"method": r.method, "path": r.path, "file": r.file})).collect::<Vec<_>>(),
            "middlewares": m.middlewares,
            "hooks": m.hooks,
            "events": m.events,
            "cron": m.cron.iter().map(|c| serde_json::json!({"id": c.id, "expr": c.expr, "file": c.file})).collect::<Vec<_>>(),
        });
        let events = m
            .events
            .iter()
            .filter_map(|e| e["name"].as_str().map(String::from))
            .collect();
        Ok(HookTable {
            router,
            routes,
            has_bootstrap: count("onBootstrap") > 0,
            has_terminate: count("onTerminate") > 0,
            has_ws_connect: count("onWsConnect") > 0,
            has_ws_disconnect: count("onWsDisconnect") > 0,
            ws_types: m.hooks["onWsMessage"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default(),
            listing,
            plugins: m.plugins,
            events,
        })
    }

    /// The route for a request, with its parameters.
    pub fn lookup(&self, method: &Method, path: &str) -> Option<(usize, Params)> {
        match self.router.lookup(method, path) {
            Lookup::Found(m) => Some((m.id, m.params)),
            _ => None,
        }
    }

    /// The methods of the routes matching `path` (empty when none does).
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        // A method no route has: the router then lists those the path accepts.
        let Ok(probe) = Method::from_bytes(b"NEBULA-PROBE") else {
            return Vec::new();
        };
        match self.router.lookup(&probe, path) {
            Lookup::MethodNotAllowed { allow } => allow,
            _ => Vec::new(),
        }
    }

    /// Stats labels of everything that runs (routes, cron, events, chains).
    pub fn labels(&self, cron: &CronTable) -> HashSet<Arc<str>> {
        let mut out: HashSet<Arc<str>> = self.routes.iter().map(|r| r.label.clone()).collect();
        for (id, _, _) in cron.list() {
            out.insert(Arc::from(format!("cron:{id}")));
        }
        for e in &self.events {
            out.insert(Arc::from(format!("event:{e}")));
        }
        for t in &self.ws_types {
            out.insert(Arc::from(format!("ws:{t}")));
        }
        out.insert(Arc::from("onWsConnect"));
        out.insert(Arc::from("onWsDisconnect"));
        out.insert(Arc::from("onBootstrap"));
        out.insert(Arc::from("onTerminate"));
        out
    }
}
