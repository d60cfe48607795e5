//! A generation: one snapshot of the folders, its pool of runtimes, its route
//! table and its cron scheduler. Requests hold an `Arc` of the generation
//! they started on; when the last one drops, its workers finish and exit.
use std::sync::{mpsc, Arc, Weak};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use super::config::JsvmConfig;
use super::cron::{utc, CronTable};
use super::errors::LoadError;
use super::plugins::PluginStates;
use super::pool::{Pool, PoolConfig, Submit, WorkerEnv};
use super::sources::Snapshot;
use super::stats::Stats;
use super::table::HookTable;
use super::task::{ReplyTo, Task, TaskKind};
use super::vm::VmLimits;
use super::JsvmEvents;
use crate::hub::Hub;

/// Least time a file may take to load (tests use less, to see a stuck load fail fast).
const LOAD_FLOOR: Duration = if cfg!(test) {
    Duration::from_secs(1)
} else {
    Duration::from_secs(5)
};
/// Longest sleep of the cron thread between two looks at the table.
const CRON_TICK_MAX: Duration = Duration::from_secs(1);

pub struct Generation {
    pub id: u64,
    pub table: HookTable,
    pub cron: Arc<CronTable>,
    pub pool: Pool,
    cron_stop: Mutex<Option<mpsc::Sender<()>>>,
}

/// What a generation is built from, besides the folders.
pub struct BuildEnv<'a> {
    pub config: &'a JsvmConfig,
    pub events: Arc<dyn JsvmEvents>,
    pub plugins: Arc<PluginStates>,
    pub stats: Arc<Stats>,
    pub dispatch: tracing::Dispatch,
    /// The engine's hub, for `onWs*` hooks and the `hub` global.
    pub hub: Option<Arc<Hub>>,
}

impl Generation {
    /// Snapshots the folders, starts the pool and checks the registrations.
    pub fn build(id: u64, env: BuildEnv<'_>) -> Result<Arc<Generation>, LoadError> {
        let c = env.config;
        let snapshot = Arc::new(Snapshot::read(c)?);
        let cron = Arc::new(CronTable::new(env.stats.cron_running.clone()));
        let cfg = PoolConfig {
            size: c.pool_size,
            timeout: c.timeout,
            // A thread still in native code at 1.5× its deadline (2× below
            // 200 ms) is given up and replaced: most such calls allocate and
            // are stopped at the deadline (see `gate`), the rest may not hold
            // a runtime much longer.
            grace: (c.timeout / 2).max(Duration::from_millis(100)),
            queue_limit: c.queue_limit.max(1),
            queue_timeout: c.queue_timeout,
            max_async: c.max_async_per_runtime.max(1),
            limits: VmLimits {
                memory: c.memory_limit_bytes(),
                stack: c.stack_kb << 10,
                load: c.timeout.max(LOAD_FLOOR),
            },
            generation: id,
        };
        let worker_env = WorkerEnv {
            snapshot,
            events: env.events,
            plugins: env.plugins,
            cron: cron.clone(),
            hub: env.hub,
        };
        let (pool, manifest) = Pool::start(cfg, worker_env, env.stats, env.dispatch)?;
        let table = HookTable::build(&manifest, &cron)?;
        Ok(Arc::new(Generation {
            id,
            table,
            cron,
            pool,
            cron_stop: Mutex::new(None),
        }))
    }

    pub fn submit(&self, kind: TaskKind, label: Arc<str>, reply: ReplyTo) -> Submit {
        self.pool.shared.submit(Task::new(kind, label, reply))
    }

    /// The generation became current (after the swap): its jobs are
    /// scheduled from now, its pool is the one stats report on, and the cron
    /// thread starts.
    pub fn start_cron(self: &Arc<Self>) {
        self.pool.shared.stats.set_current(&self.pool.shared);
        self.cron.activate(utc(SystemTime::now()));
        if self.cron.list().is_empty() {
            return;
        }
        let (tx, rx) = mpsc::channel::<()>();
        *self.cron_stop.lock() = Some(tx);
        let weak: Weak<Generation> = Arc::downgrade(self);
        let dispatch = self.pool.shared.dispatch.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("jsvm-cron-{}", self.id))
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || loop {
                    let wait = match weak.upgrade() {
                        Some(g) => g.cron.wait(utc(SystemTime::now())),
                        None => return,
                    };
                    let wait = wait.unwrap_or(CRON_TICK_MAX).min(CRON_TICK_MAX);
                    match rx.recv_timeout(wait) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    match weak.upgrade() {
                        Some(g) => {
                            g.run_due(utc(SystemTime::now()));
                        }
                        None => return,
                    }
                })
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "jsvm: cannot start the cron thread; jobs will not run");
        }
    }

    /// Submits the jobs due at `now` (the cron thread, or a test's clock).
    pub fn run_due(&self, now: chrono::DateTime<chrono::Utc>) -> usize {
        let due = self.cron.due(now);
        let n = due.len();
        for run in due {
            let id = run.id().to_owned();
            let label: Arc<str> = Arc::from(format!("cron:{id}"));
            // A refused task is dropped here, and its run with it.
            if let Submit::Busy | Submit::Stopped =
                self.submit(TaskKind::Cron { run }, label, ReplyTo::Nobody)
            {
                tracing::warn!(job = %id, "jsvm: cron run dropped, the pool is full or stopped");
            }
        }
        n
    }

    /// Stops scheduling; runs `onTerminate` once (fire and forget unless
    /// `wait` is given).
    pub fn retire(&self, wait: Option<std::sync::mpsc::SyncSender<crate::kernel::Reply>>) {
        self.cron_stop.lock().take();
        self.cron.clear();
        if self.table.has_terminate {
            let reply = match wait {
                Some(tx) => ReplyTo::Wait(tx),
                None => ReplyTo::Nobody,
            };
            let _ = self.submit(
                TaskKind::Chain { chain: "terminate" },
                Arc::from("onTerminate"),
                reply,
            );
        }
    }
}
