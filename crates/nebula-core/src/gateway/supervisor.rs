//! The supervisor: starts every instance of every service, keeps them
//! running, tells the proxy which ones are ready, and stops them all.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::config::{ServiceSpec, SocketSpec};
use super::endpoint::Endpoint;
use super::error::{GatewayError, WorkerFailure};
use super::registry::{Shared, WorkerId};
use super::socket;
use super::status::InstanceStatus;
use super::worker::WorkerTask;

#[derive(Debug, Clone, Default)]
pub struct SupervisorOptions {
    /// Directory of `auto` sockets; default `$XDG_RUNTIME_DIR/nebula` or
    /// `/tmp/nebula-<uid>`. Created with mode 0700.
    pub runtime_dir: Option<PathBuf>,
}

/// Supervises the workers of the gateway's services. Dropping it stops the
/// workers in the background; `stop().await` waits until they are gone.
pub struct Supervisor {
    shared: Arc<Shared>,
}

impl Supervisor {
    /// Checks every address, then starts all instances (without waiting for
    /// them to be ready: see [`Supervisor::wait_for`]). Needs a tokio runtime.
    pub fn start(
        specs: Vec<ServiceSpec>,
        options: SupervisorOptions,
    ) -> Result<Supervisor, GatewayError> {
        tokio::runtime::Handle::try_current().map_err(|_| {
            GatewayError::Setup("the supervisor must be started inside a tokio runtime".into())
        })?;
        for (i, spec) in specs.iter().enumerate() {
            spec.check().map_err(GatewayError::Spec)?;
            if specs[..i].iter().any(|s| s.name == spec.name) {
                return Err(GatewayError::Spec(format!(
                    "{}: two services have this name",
                    spec.name
                )));
            }
        }
        let runtime_dir = options
            .runtime_dir
            .unwrap_or_else(socket::default_runtime_dir);
        if specs.iter().any(|s| s.socket == SocketSpec::Auto) {
            socket::ensure_runtime_dir(&runtime_dir).map_err(GatewayError::Socket)?;
        }
        let base_dir = std::env::current_dir()
            .map_err(|e| GatewayError::Setup(format!("the current directory: {e}")))?;
        // Both slots of every instance: a rolling restart must not find out late.
        for spec in &specs {
            for instance in 0..spec.instances {
                for slot in 0..2 {
                    socket::address(spec, &runtime_dir, &base_dir, instance, slot)
                        .map_err(GatewayError::Socket)?;
                }
            }
        }
        let shared = Arc::new(Shared::new(specs, runtime_dir, base_dir));
        for (service, entry) in shared.services.iter().enumerate() {
            for instance in 0..entry.spec().instances {
                launch(&shared, service, instance, 0, None)?;
            }
        }
        Ok(Supervisor { shared })
    }

    /// The names of the services, in configuration order.
    pub fn services(&self) -> Vec<Arc<str>> {
        self.shared
            .services
            .iter()
            .map(|s| Arc::clone(&s.name))
            .collect()
    }

    pub fn spec(&self, service: &str) -> Option<Arc<ServiceSpec>> {
        let index = self.shared.service_index(service)?;
        Some(self.shared.services[index].spec())
    }

    /// Every worker, by service, instance and generation.
    pub fn snapshot(&self) -> Vec<InstanceStatus> {
        self.shared.snapshot()
    }

    /// The snapshot, updated on every change.
    pub fn subscribe(&self) -> watch::Receiver<Vec<InstanceStatus>> {
        self.shared.subscribe()
    }

    /// The ready workers of `service` (empty for an unknown service).
    pub fn ready_endpoints(&self, service: &str) -> Vec<Endpoint> {
        self.shared
            .service_index(service)
            .map(|i| self.shared.ready_endpoints(i))
            .unwrap_or_default()
    }

    /// The ready workers of `service`, updated on every change.
    pub fn watch_endpoints(&self, service: &str) -> Option<watch::Receiver<Vec<Endpoint>>> {
        let index = self.shared.service_index(service)?;
        Some(self.shared.services[index].endpoints.subscribe())
    }

    /// Waits until `done` holds for the snapshot; `what` names the goal in the timeout error.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(&[InstanceStatus]) -> bool,
    ) -> Result<Vec<InstanceStatus>, GatewayError> {
        let mut rx = self.subscribe();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|s| done(s))).await;
        match waited {
            Ok(Ok(snapshot)) => Ok(snapshot.clone()),
            Ok(Err(_)) => Err(GatewayError::Stopped),
            Err(_) => Err(GatewayError::Timeout {
                waited: timeout,
                what: what.to_string(),
            }),
        }
    }

    /// Replaces each instance of `service` in turn, never leaving it without
    /// a ready one: a new worker starts on the instance's other address;
    /// once it is ready it joins the endpoints and the old one leaves them,
    /// finishes its requests in flight (at most the grace period) and is
    /// stopped. A new worker that does not become ready is stopped, the old
    /// one keeps serving and the error says why; the instances after it are
    /// left as they are.
    pub async fn restart_rolling(&self, service: &str) -> Result<(), GatewayError> {
        let index = self
            .shared
            .service_index(service)
            .ok_or_else(|| GatewayError::UnknownService(service.to_string()))?;
        super::rolling::restart_rolling(&self.shared, index).await
    }

    /// Runs `service` with a new spec (same name): every instance is replaced
    /// as in [`Supervisor::restart_rolling`], instances beyond the new count
    /// drain and stop. When a new worker does not become ready, the old spec
    /// is put back (the instances replaced before it keep the new one; the
    /// next reconfigure replaces every instance again).
    pub async fn reconfigure(&self, spec: ServiceSpec) -> Result<(), GatewayError> {
        let index = self
            .shared
            .service_index(&spec.name)
            .ok_or_else(|| GatewayError::UnknownService(spec.name.clone()))?;
        spec.check().map_err(GatewayError::Spec)?;
        for instance in 0..spec.instances {
            for slot in 0..2 {
                socket::address(
                    &spec,
                    &self.shared.runtime_dir,
                    &self.shared.base_dir,
                    instance,
                    slot,
                )
                .map_err(GatewayError::Socket)?;
            }
        }
        if spec.socket == SocketSpec::Auto {
            socket::ensure_runtime_dir(&self.shared.runtime_dir).map_err(GatewayError::Socket)?;
        }
        let entry = &self.shared.services[index];
        let before = entry.spec();
        entry.set_spec(spec);
        let rolled = super::rolling::restart_rolling(&self.shared, index).await;
        if rolled.is_err() {
            entry.set_spec((*before).clone());
        }
        rolled
    }

    /// Stops every worker (SIGTERM, SIGKILL after the grace period) and waits
    /// until all are gone and their sockets removed. Later calls return at once.
    pub async fn stop(&self) {
        let tasks = self.shared.close();
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!(target: "nebula::gateway", "worker task: {e}");
            }
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // The workers' tasks stop their processes; `kill_on_drop` covers a
        // runtime that is gone before they could.
        self.shared.stop.cancel();
    }
}

/// Registers and starts a worker for `instance` in `generation` (its address
/// slot is the generation's parity).
pub(super) fn launch(
    shared: &Arc<Shared>,
    service: usize,
    instance: usize,
    generation: u64,
    first_ready: Option<oneshot::Sender<Result<(), WorkerFailure>>>,
) -> Result<WorkerId, GatewayError> {
    let spec = shared.services[service].spec();
    let slot = (generation % 2) as usize;
    let addr = socket::address(&spec, &shared.runtime_dir, &shared.base_dir, instance, slot)
        .map_err(GatewayError::Socket)?;
    shared
        .register(service, instance, generation, addr, |registered| {
            let task = WorkerTask::new(
                Arc::clone(shared),
                service,
                instance,
                registered,
                first_ready,
            );
            tokio::spawn(task.run())
        })
        .ok_or(GatewayError::Stopped)
}
