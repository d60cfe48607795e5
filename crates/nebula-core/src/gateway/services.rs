//! The gateway as the engine uses it: the configured services (see
//! `unit.rs`), one supervisor per service once the engine serves, the routes
//! that forward to them, and `update`: new options applied while serving.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};

use super::endpoint::Endpoint;
use super::error::{GatewayConfigError, ServicesError};
use super::routes::{GatewayRoutes, ServiceRoutes, Upstreams};
use super::unit::{parse, Unit};
use super::watch::Watcher;
use super::{InstanceState, InstanceStatus, Supervisor, SupervisorOptions};

pub struct Gateway {
    runtime_dir: Option<PathBuf>,
    /// The services as configured now (replaced whole by `update`).
    units: RwLock<Arc<Vec<Arc<Unit>>>>,
    /// Their routes, as the proxy reads them on every request.
    table: RwLock<Arc<[Arc<ServiceRoutes>]>>,
    /// While the engine serves: each service's supervisor, by name.
    running: RwLock<Option<HashMap<String, Arc<Supervisor>>>>,
    watchers: Mutex<HashMap<String, Watcher>>,
    /// One `update` at a time.
    updating: tokio::sync::Mutex<()>,
}

/// What `update` did, by service name.
#[derive(Debug, Default, serde::Serialize)]
pub struct UpdateSummary {
    /// New services (their workers are ready, or failed: see `failed`).
    pub started: Vec<String>,
    /// Services whose workers were replaced (rolling) for new worker options.
    pub restarted: Vec<String>,
    /// Services whose routes or forwarding options changed (workers kept).
    pub rerouted: Vec<String>,
    pub stopped: Vec<String>,
    pub unchanged: Vec<String>,
    /// `{ service, reason }` for workers that did not become ready.
    pub failed: Vec<Value>,
}

impl Gateway {
    /// Reads `ServicesPlugin` options: `{ services: [...], runtimeDir? }`.
    pub fn from_json(options: &Value) -> Result<Gateway, GatewayConfigError> {
        let parsed = parse(options)?;
        Ok(Gateway {
            runtime_dir: parsed.runtime_dir,
            table: RwLock::new(table(&parsed.units)),
            units: RwLock::new(Arc::new(parsed.units)),
            running: RwLock::new(None),
            watchers: Mutex::new(HashMap::new()),
            updating: tokio::sync::Mutex::new(()),
        })
    }

    /// The dynamic routes forwarding to this gateway's workers.
    pub fn dynamic_routes(self: &Arc<Self>) -> GatewayRoutes {
        GatewayRoutes {
            upstreams: self.clone(),
        }
    }

    fn units(&self) -> Arc<Vec<Arc<Unit>>> {
        self.units.read().clone()
    }

    fn supervisor(&self, service: &str) -> Option<Arc<Supervisor>> {
        self.running.read().as_ref()?.get(service).cloned()
    }

    fn spawn_supervisor(&self, unit: &Unit) -> Result<Arc<Supervisor>, ServicesError> {
        let sup = Supervisor::start(
            vec![unit.spec.clone()],
            SupervisorOptions {
                runtime_dir: self.runtime_dir.clone(),
            },
        )?;
        Ok(Arc::new(sup))
    }

    /// Watches `unit`'s files (if it names any); replaces its former watcher.
    fn watch(self: &Arc<Self>, unit: &Unit) -> Result<(), ServicesError> {
        let mut watchers = self.watchers.lock();
        watchers.remove(unit.name());
        if unit.watch.is_empty() {
            return Ok(());
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(ServicesError::NoRuntime)?;
        let w = super::watch::start(
            Arc::downgrade(self),
            unit.name().to_owned(),
            unit.watch.clone(),
            runtime,
        )
        .map_err(ServicesError::Watch)?;
        watchers.insert(unit.name().to_owned(), w);
        Ok(())
    }

    /// Starts the workers (inside the tokio runtime); a no-op while they run.
    pub fn start(self: &Arc<Self>) -> Result<(), ServicesError> {
        let mut running = self.running.write();
        if running.is_some() {
            return Ok(());
        }
        let mut sups = HashMap::new();
        for unit in self.units().iter() {
            self.watch(unit)?;
            sups.insert(unit.name().to_owned(), self.spawn_supervisor(unit)?);
        }
        *running = Some(sups);
        Ok(())
    }

    /// Stops every worker (SIGTERM, then SIGKILL after its grace period); `start` may run again after.
    pub async fn stop(&self) {
        // After any update in progress: it may be starting workers.
        let _one = self.updating.lock().await;
        self.watchers.lock().clear();
        let sups = self.running.write().take().unwrap_or_default();
        futures_util::future::join_all(sups.values().map(|s| s.stop())).await;
    }

    /// Replaces the workers of `service` one by one without dropping requests.
    pub async fn restart(&self, service: &str) -> Result<(), ServicesError> {
        let sup = match self.supervisor(service) {
            Some(s) => s,
            None if self.running.read().is_none() => return Err(ServicesError::NotStarted),
            None => return Err(ServicesError::UnknownService(service.to_owned())),
        };
        Ok(sup.restart_rolling(service).await?)
    }

    /// Applies new options while serving: new services start (and are waited
    /// for), removed ones leave the routes, finish their requests in flight
    /// (at most their grace period) and stop, services whose worker options
    /// changed get a rolling restart, route changes apply at once. Invalid
    /// options change nothing; `runtimeDir` cannot change. A service whose
    /// new workers do not become ready keeps its former configuration (and
    /// is in `failed`), so applying the same options again retries it.
    pub async fn update(self: &Arc<Self>, options: &Value) -> Result<UpdateSummary, ServicesError> {
        let _one = self.updating.lock().await;
        let parsed = parse(options)?;
        if parsed.runtime_dir != self.runtime_dir {
            return Err(ServicesError::RuntimeDirChanged);
        }
        let old = self.units();
        let mut summary = UpdateSummary::default();
        {
            // Not serving: the options are taken as they are (start() waits for
            // this lock, so it launches either the old list or the new one).
            let running = self.running.read();
            if running.is_none() {
                *self.table.write() = table(&parsed.units);
                *self.units.write() = Arc::new(parsed.units);
                return Ok(summary);
            }
        }
        let mut kept: Vec<Arc<Unit>> = Vec::with_capacity(parsed.units.len());
        for unit in &parsed.units {
            let name = unit.name().to_owned();
            let before = old.iter().find(|u| u.name() == name);
            match before {
                None => match self.start_one(unit).await {
                    Ok(()) => {
                        summary.started.push(name);
                        kept.push(unit.clone());
                    }
                    Err(reason) => summary
                        .failed
                        .push(json!({ "service": name, "reason": reason })),
                },
                Some(b) if b.spec != unit.spec => {
                    let outcome = match self.supervisor(&name) {
                        Some(sup) => sup
                            .reconfigure(unit.spec.clone())
                            .await
                            .map_err(|e| e.to_string()),
                        None => Err("its supervisor is gone".to_owned()),
                    };
                    match outcome {
                        Ok(()) => {
                            summary.restarted.push(name);
                            kept.push(unit.clone());
                        }
                        Err(reason) => {
                            summary
                                .failed
                                .push(json!({ "service": name, "reason": reason }));
                            kept.push(b.clone());
                        }
                    }
                }
                Some(b) if b.route_json != unit.route_json => {
                    summary.rerouted.push(name);
                    kept.push(unit.clone());
                }
                Some(_) => {
                    summary.unchanged.push(name);
                    kept.push(unit.clone());
                }
            }
        }
        *self.table.write() = table(&kept);
        *self.units.write() = Arc::new(kept.clone());
        // Out of the routes now: removed services finish their requests, then stop.
        let gone: Vec<&Arc<Unit>> = old
            .iter()
            .filter(|o| !parsed.units.iter().any(|u| u.name() == o.name()))
            .collect();
        for unit in gone {
            self.watchers.lock().remove(unit.name());
            let sup = self
                .running
                .write()
                .as_mut()
                .and_then(|m| m.remove(unit.name()));
            if let Some(sup) = sup {
                let grace = unit.spec.grace;
                let endpoints = sup.ready_endpoints(unit.name());
                futures_util::future::join_all(
                    endpoints.iter().map(|e| e.in_flight().wait_idle(grace)),
                )
                .await;
                sup.stop().await;
            }
            summary.stopped.push(unit.name().to_owned());
        }
        for unit in &kept {
            let same = old
                .iter()
                .any(|o| o.name() == unit.name() && o.watch == unit.watch);
            if !same {
                if let Err(e) = self.watch(unit) {
                    summary
                        .failed
                        .push(json!({ "service": unit.name(), "reason": e.to_string() }));
                }
            }
        }
        Ok(summary)
    }

    /// Starts a service added by `update` and waits until each of its
    /// instances is ready (at most its ready timeout, twice). Any instance
    /// failed or late: the service is stopped again, with the reason.
    async fn start_one(&self, unit: &Unit) -> Result<(), String> {
        let name = unit.name().to_owned();
        let sup = self.spawn_supervisor(unit).map_err(|e| e.to_string())?;
        let n = unit.spec.instances;
        let settled = |s: &[InstanceStatus]| {
            s.iter()
                .filter(|i| i.is_ready() || matches!(i.state, InstanceState::Failed { .. }))
                .count()
                >= n
        };
        let wait = unit.spec.ready_timeout * 2 + Duration::from_secs(1);
        let failure = match sup
            .wait_for(wait, "the new service's workers", settled)
            .await
        {
            Ok(snapshot) => snapshot.into_iter().find_map(|i| match i.state {
                InstanceState::Failed { reason } => Some(reason),
                _ => None,
            }),
            Err(e) => Some(e.to_string()),
        };
        if let Some(reason) = failure {
            sup.stop().await;
            return Err(reason);
        }
        match self.running.write().as_mut() {
            Some(m) => {
                m.insert(name, sup);
                Ok(())
            }
            None => {
                // The gateway stopped meanwhile.
                drop(sup);
                Err("the gateway stopped".into())
            }
        }
    }

    /// Every service with its instances, as `services.status()` reports them.
    pub fn status(&self) -> Value {
        let services: Vec<Value> = self
            .units()
            .iter()
            .map(|unit| {
                let snapshot = self
                    .supervisor(unit.name())
                    .map(|s| s.snapshot())
                    .unwrap_or_default();
                let instances: Vec<Value> = snapshot.iter().map(instance_json).collect();
                json!({
                    "name": unit.name(),
                    "routes": unit.routes.patterns,
                    "ready": instances.iter().filter(|i| i["state"] == "ready").count(),
                    "instances": instances,
                })
            })
            .collect();
        json!({ "services": services })
    }
}

fn table(units: &[Arc<Unit>]) -> Arc<[Arc<ServiceRoutes>]> {
    units.iter().map(|u| u.routes.clone()).collect()
}

fn instance_json(i: &InstanceStatus) -> Value {
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
}

impl Upstreams for Gateway {
    fn routes(&self) -> Arc<[Arc<ServiceRoutes>]> {
        self.table.read().clone()
    }

    fn ready(&self, service: &str) -> Vec<Endpoint> {
        self.supervisor(service)
            .map(|s| s.ready_endpoints(service))
            .unwrap_or_default()
    }
}
