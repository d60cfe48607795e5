//! The supervisor's shared state: every worker's record, published after
//! each change as a snapshot and as each service's ready endpoints.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::ServiceSpec;
use super::endpoint::{Endpoint, EndpointAddr, InFlight};
use super::status::{InstanceState, InstanceStatus};

pub type WorkerId = u64;

pub struct Shared {
    pub services: Vec<ServiceEntry>,
    pub runtime_dir: PathBuf,
    /// Relative socket paths are resolved against this (the engine's directory).
    pub base_dir: PathBuf,
    /// Cancelled by `Supervisor::stop`; each worker's token is a child of it.
    pub stop: CancellationToken,
    inner: Mutex<Inner>,
    snapshot: watch::Sender<Vec<InstanceStatus>>,
}

pub struct ServiceEntry {
    /// Replaced by `Supervisor::reconfigure`; a worker reads it when it starts.
    spec: parking_lot::RwLock<Arc<ServiceSpec>>,
    pub name: Arc<str>,
    pub endpoints: watch::Sender<Vec<Endpoint>>,
    /// One rolling restart of a service at a time.
    pub rolling: tokio::sync::Mutex<()>,
}

impl ServiceEntry {
    pub fn spec(&self) -> Arc<ServiceSpec> {
        Arc::clone(&self.spec.read())
    }

    pub fn set_spec(&self, spec: ServiceSpec) {
        *self.spec.write() = Arc::new(spec);
    }
}

#[derive(Default)]
struct Inner {
    next_id: WorkerId,
    stopped: bool,
    workers: BTreeMap<WorkerId, Record>,
}

struct Record {
    service: usize,
    endpoint: Endpoint,
    status: InstanceStatus,
    draining: bool,
    token: CancellationToken,
    task: Option<JoinHandle<()>>,
}

/// What a worker's task gets when it is registered.
pub struct Registered {
    pub id: WorkerId,
    pub addr: EndpointAddr,
    pub token: CancellationToken,
}

impl Shared {
    pub fn new(specs: Vec<ServiceSpec>, runtime_dir: PathBuf, base_dir: PathBuf) -> Shared {
        let services = specs
            .into_iter()
            .map(|spec| ServiceEntry {
                name: spec.name.as_str().into(),
                spec: parking_lot::RwLock::new(Arc::new(spec)),
                endpoints: watch::channel(Vec::new()).0,
                rolling: tokio::sync::Mutex::new(()),
            })
            .collect();
        Shared {
            services,
            runtime_dir,
            base_dir,
            stop: CancellationToken::new(),
            inner: Mutex::new(Inner::default()),
            snapshot: watch::channel(Vec::new()).0,
        }
    }

    pub fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| &*s.name == name)
    }

    pub fn subscribe(&self) -> watch::Receiver<Vec<InstanceStatus>> {
        self.snapshot.subscribe()
    }

    pub fn snapshot(&self) -> Vec<InstanceStatus> {
        self.snapshot.borrow().clone()
    }

    /// Registers a worker and starts its task, made by `task` from what was
    /// registered; None once the supervisor is stopped.
    pub fn register(
        &self,
        service: usize,
        instance: usize,
        generation: u64,
        addr: EndpointAddr,
        task: impl FnOnce(Registered) -> JoinHandle<()>,
    ) -> Option<WorkerId> {
        let entry = &self.services[service];
        let mut inner = self.inner.lock();
        if inner.stopped {
            return None;
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let token = self.stop.child_token();
        let endpoint = Endpoint::new(Arc::clone(&entry.name), instance, generation, addr.clone());
        let status = InstanceStatus {
            service: Arc::clone(&entry.name),
            instance,
            generation,
            addr: addr.clone(),
            state: InstanceState::Starting,
            pid: None,
            restarts: 0,
            started_at: None,
            last_crash: None,
        };
        // Spawned under the lock: `stop` either sees this task or refuses it.
        let handle = task(Registered {
            id,
            addr,
            token: token.clone(),
        });
        inner.workers.insert(
            id,
            Record {
                service,
                endpoint,
                status,
                draining: false,
                token,
                task: Some(handle),
            },
        );
        self.publish(&inner);
        Some(id)
    }

    /// Changes a worker's status. A draining worker stays `Draining` until it
    /// stops or fails: it must not come back into the endpoints.
    pub fn update(&self, id: WorkerId, change: impl FnOnce(&mut InstanceStatus)) {
        let mut inner = self.inner.lock();
        let Some(record) = inner.workers.get_mut(&id) else {
            return;
        };
        change(&mut record.status);
        if record.draining
            && !matches!(
                record.status.state,
                InstanceState::Stopping | InstanceState::Stopped | InstanceState::Failed { .. }
            )
        {
            record.status.state = InstanceState::Draining;
        }
        self.publish(&inner);
    }

    pub fn is_draining(&self, id: WorkerId) -> bool {
        self.inner
            .lock()
            .workers
            .get(&id)
            .is_some_and(|r| r.draining)
    }

    /// The worker serving instance `instance` now: the newest generation not draining.
    pub fn active(&self, service: usize, instance: usize) -> Option<(WorkerId, u64)> {
        self.inner
            .lock()
            .workers
            .iter()
            .filter(|(_, r)| r.service == service && r.status.instance == instance && !r.draining)
            .map(|(id, r)| (*id, r.status.generation))
            .max_by_key(|(_, generation)| *generation)
    }

    /// The workers of `service` serving an instance numbered `from` or above.
    pub fn active_from(&self, service: usize, from: usize) -> Vec<(WorkerId, usize)> {
        self.inner
            .lock()
            .workers
            .iter()
            .filter(|(_, r)| r.service == service && r.status.instance >= from && !r.draining)
            .map(|(id, r)| (*id, r.status.instance))
            .collect()
    }

    /// Takes a worker out of the endpoints; its in-flight counter to wait on.
    pub fn drain(&self, id: WorkerId) -> Option<Arc<InFlight>> {
        let mut inner = self.inner.lock();
        let record = inner.workers.get_mut(&id)?;
        record.draining = true;
        if !matches!(record.status.state, InstanceState::Failed { .. }) {
            record.status.state = InstanceState::Draining;
        }
        let in_flight = Arc::clone(record.endpoint.in_flight());
        in_flight.set_draining();
        self.publish(&inner);
        Some(in_flight)
    }

    /// Stops one worker, waits for its task and forgets it.
    pub async fn retire(&self, id: WorkerId) {
        let task = {
            let mut inner = self.inner.lock();
            inner.workers.get_mut(&id).and_then(|r| {
                r.token.cancel();
                r.task.take()
            })
        };
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::error!(target: "nebula::gateway", "worker task {id}: {e}");
            }
        }
        let mut inner = self.inner.lock();
        inner.workers.remove(&id);
        self.publish(&inner);
    }

    /// Refuses new workers from now on and hands out every worker's task.
    pub fn close(&self) -> Vec<JoinHandle<()>> {
        let mut inner = self.inner.lock();
        inner.stopped = true;
        self.stop.cancel();
        inner
            .workers
            .values_mut()
            .filter_map(|r| r.task.take())
            .collect()
    }

    pub fn ready_endpoints(&self, service: usize) -> Vec<Endpoint> {
        self.services[service].endpoints.borrow().clone()
    }

    fn publish(&self, inner: &Inner) {
        let mut all: Vec<(usize, &Record)> =
            inner.workers.values().map(|r| (r.service, r)).collect();
        all.sort_by_key(|(s, r)| (*s, r.status.instance, r.status.generation));
        // Endpoints first: whoever sees a worker ready in the snapshot finds it there.
        for (index, entry) in self.services.iter().enumerate() {
            let ready: Vec<Endpoint> = all
                .iter()
                .filter(|(s, r)| *s == index && !r.draining && r.status.is_ready())
                .map(|(_, r)| r.endpoint.clone())
                .collect();
            entry.endpoints.send_if_modified(|current| {
                if *current == ready {
                    false
                } else {
                    *current = ready;
                    true
                }
            });
        }
        self.snapshot
            .send_replace(all.iter().map(|(_, r)| r.status.clone()).collect());
    }
}
