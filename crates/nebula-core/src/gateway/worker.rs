//! The task supervising one worker: start, wait until ready, restart after
//! a crash with backoff, give up on a crash loop, stop when told.
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::backoff::{Backoff, CrashWindow};
use super::config::ServiceSpec;
use super::endpoint::EndpointAddr;
use super::error::{human, WorkerFailure};
use super::process::{self, describe_exit};
use super::readiness;
use super::registry::{Registered, Shared, WorkerId};
use super::socket;
use super::status::InstanceState;

pub struct WorkerTask {
    pub shared: Arc<Shared>,
    pub service: usize,
    pub instance: usize,
    pub id: WorkerId,
    pub addr: EndpointAddr,
    pub token: CancellationToken,
    /// For a rolling restart: the first start's outcome goes here, and a
    /// first start that fails ends the worker instead of restarting it.
    pub first_ready: Option<oneshot::Sender<Result<(), WorkerFailure>>>,
}

/// How one process of the worker ended.
enum Outcome {
    Stopped,
    Crashed {
        reason: WorkerFailure,
        was_ready: bool,
    },
}

impl WorkerTask {
    pub fn new(
        shared: Arc<Shared>,
        service: usize,
        instance: usize,
        registered: Registered,
        first_ready: Option<oneshot::Sender<Result<(), WorkerFailure>>>,
    ) -> WorkerTask {
        WorkerTask {
            shared,
            service,
            instance,
            id: registered.id,
            addr: registered.addr,
            token: registered.token,
            first_ready,
        }
    }

    pub async fn run(mut self) {
        let spec = self.shared.services[self.service].spec();
        let mut backoff = Backoff::new(spec.backoff);
        let mut window = CrashWindow::new(spec.crash_loop);
        let mut restarts = 0u32;
        loop {
            let (failure, was_ready) = match self.run_once(&spec).await {
                Outcome::Stopped => return self.finish(InstanceState::Stopped),
                Outcome::Crashed { reason, was_ready } => (reason, was_ready),
            };
            let fatal = failure.is_fatal();
            let reason = failure.to_string();
            socket::remove(&self.addr);
            if was_ready {
                backoff.reset();
            }
            // Decide first, then publish once: the process is gone, so in the
            // same update the instance stops being `ready`, loses its pid and
            // shows what comes next. A status read in between must never
            // show a ready instance without a pid, nor a restart that the
            // crash-loop limit is about to refuse.
            let next = if let Some(tx) = self.first_ready.take() {
                let _ = tx.send(Err(failure));
                InstanceState::Failed {
                    reason: reason.clone(),
                }
            } else if self.token.is_cancelled() || self.shared.is_draining(self.id) {
                InstanceState::Stopped
            } else {
                let give_up = if fatal {
                    Err("cannot be started".to_string())
                } else {
                    window.crashed(Instant::now())
                };
                match give_up {
                    Err(limit) => {
                        let reason = format!("{limit}: {reason}");
                        tracing::error!(target: "nebula::gateway", service = %spec.name,
                            instance = self.instance, "[{}#{}] {reason}", spec.name, self.instance);
                        InstanceState::Failed { reason }
                    }
                    Ok(()) => InstanceState::Restarting {
                        attempt: restarts + 1,
                    },
                }
            };
            let InstanceState::Restarting { attempt } = next else {
                // The end (the socket is already removed).
                return self.shared.update(self.id, |s| {
                    s.pid = None;
                    s.last_crash = Some(reason);
                    s.state = next;
                });
            };
            restarts = attempt;
            let delay = backoff.next_delay();
            tracing::warn!(target: "nebula::gateway", service = %spec.name, instance = self.instance,
                "[{}#{}] {reason}; restart {restarts} in {}", spec.name, self.instance, human(delay));
            self.shared.update(self.id, |s| {
                s.pid = None;
                s.last_crash = Some(reason);
                s.state = InstanceState::Restarting { attempt };
                s.restarts = restarts;
            });
            tokio::select! {
                _ = self.token.cancelled() => return self.finish(InstanceState::Stopped),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One process, from spawn to exit.
    async fn run_once(&mut self, spec: &ServiceSpec) -> Outcome {
        let crashed = |reason: WorkerFailure| Outcome::Crashed {
            reason,
            was_ready: false,
        };
        self.shared
            .update(self.id, |s| s.state = InstanceState::Starting);
        if let Err(e) = socket::prepare(&self.addr).await {
            return crashed(WorkerFailure::Socket(e));
        }
        let mut worker = match process::spawn(spec, self.instance, &self.addr) {
            Ok(worker) => worker,
            Err(source) => {
                return crashed(WorkerFailure::Spawn {
                    program: spec.command[0].clone(),
                    source,
                })
            }
        };
        let pid = worker.pid;
        self.shared.update(self.id, |s| {
            s.pid = Some(pid);
            s.started_at = Some(SystemTime::now());
        });
        tracing::debug!(target: "nebula::gateway", service = %spec.name, instance = self.instance,
            "[{}#{}] started, pid {pid}, on {}", spec.name, self.instance, self.addr);
        let health = spec.health_path.as_deref();
        let ready = tokio::select! {
            _ = self.token.cancelled() => return self.stop(&mut worker, spec).await,
            status = worker.child.wait() => {
                worker.kill_leftovers();
                return crashed(match status {
                    Ok(status) => WorkerFailure::ExitedBeforeReady(describe_exit(status)),
                    Err(e) => WorkerFailure::Wait(e),
                });
            }
            ready = readiness::wait_ready(&self.addr, health, spec.ready_timeout) => ready,
        };
        if let Err(reason) = ready {
            if let Err(e) = worker.stop(spec.grace).await {
                tracing::warn!(target: "nebula::gateway", "[{}#{}] stopping pid {pid}: {e}",
                    spec.name, self.instance);
            }
            return crashed(WorkerFailure::NotReady(reason));
        }
        self.shared
            .update(self.id, |s| s.state = InstanceState::Ready);
        tracing::info!(target: "nebula::gateway", service = %spec.name, instance = self.instance,
            "[{}#{}] ready, pid {pid}, on {}", spec.name, self.instance, self.addr);
        if let Some(tx) = self.first_ready.take() {
            let _ = tx.send(Ok(()));
        }
        tokio::select! {
            _ = self.token.cancelled() => self.stop(&mut worker, spec).await,
            status = worker.child.wait() => {
                worker.kill_leftovers();
                Outcome::Crashed {
                    reason: match status {
                        Ok(status) => WorkerFailure::Exited(describe_exit(status)),
                        Err(e) => WorkerFailure::Wait(e),
                    },
                    was_ready: true,
                }
            }
        }
    }

    async fn stop(&self, worker: &mut process::Worker, spec: &ServiceSpec) -> Outcome {
        self.shared
            .update(self.id, |s| s.state = InstanceState::Stopping);
        match worker.stop(spec.grace).await {
            Ok(status) => tracing::info!(target: "nebula::gateway", service = %spec.name,
                instance = self.instance, "[{}#{}] stopped: {}", spec.name, self.instance,
                describe_exit(status)),
            Err(e) => tracing::warn!(target: "nebula::gateway", service = %spec.name,
                instance = self.instance, "[{}#{}] stopping pid {}: {e}", spec.name,
                self.instance, worker.pid),
        }
        Outcome::Stopped
    }

    fn finish(self, state: InstanceState) {
        socket::remove(&self.addr);
        self.shared.update(self.id, |s| {
            s.state = state;
            s.pid = None;
        });
    }
}
