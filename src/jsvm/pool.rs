//! A fixed, prewarmed pool of worker threads (one runtime each) behind a
//! bounded queue, and the watchdog that replaces a worker stuck in native
//! code that never polls the interrupt handler.
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::errors::{busy_reply, Failure, LoadError};
use super::host::Host;
use super::stats::Stats;
use super::task::{answer, ReplySlot, Task};
use super::vm::{Vm, VmLimits};
use super::worker;
use super::JsvmEvents;
use super::{cron::CronTable, plugins::PluginStates, sources::Snapshot};

/// How often the watchdog looks at the workers.
const WATCHDOG_TICK: Duration = Duration::from_millis(25);

#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    pub size: usize,
    pub timeout: Duration,
    /// Extra time past `timeout` before the watchdog gives a slice up.
    pub grace: Duration,
    pub queue_limit: usize,
    pub queue_timeout: Duration,
    pub max_async: usize,
    pub limits: VmLimits,
    pub generation: u64,
}

/// What a worker needs to build a runtime (again, after a reset).
pub struct WorkerEnv {
    pub snapshot: Arc<Snapshot>,
    pub events: Arc<dyn JsvmEvents>,
    pub plugins: Arc<PluginStates>,
    pub cron: Arc<CronTable>,
}

impl WorkerEnv {
    pub fn build_vm(&self, limits: VmLimits) -> Result<Vm, LoadError> {
        let host = Host::new(
            self.snapshot.clone(),
            self.events.clone(),
            self.plugins.clone(),
            self.cron.clone(),
            limits.memory,
        );
        Vm::build(std::rc::Rc::new(host), limits)
    }
}

struct Queue {
    tasks: VecDeque<Task>,
    stopping: bool,
}

/// One worker as the watchdog sees it.
#[derive(Default)]
pub struct Slot {
    /// Start of the running slice (ms since the pool's epoch + 1); 0 = idle.
    pub slice_started: AtomicU64,
    pub abandoned: AtomicBool,
    /// Replies of the executions this worker holds.
    pub inflight: Mutex<HashMap<u64, ReplySlot>>,
}

pub struct Shared {
    pub cfg: PoolConfig,
    pub env: WorkerEnv,
    pub stats: Arc<Stats>,
    pub dispatch: tracing::Dispatch,
    queue: Mutex<Queue>,
    cv: Condvar,
    epoch: Instant,
    /// Workers inside a slice.
    pub busy: AtomicUsize,
    /// Workers alive (not abandoned, not exited).
    pub alive: AtomicUsize,
    abandoned: AtomicUsize,
    slots: Mutex<Vec<Arc<Slot>>>,
}

pub enum Submit {
    Queued,
    Busy,
    Stopped,
}

impl Shared {
    pub fn submit(&self, task: Task) -> Submit {
        let mut q = self.queue.lock();
        if q.stopping {
            return Submit::Stopped;
        }
        if q.tasks.len() >= self.cfg.queue_limit {
            return Submit::Busy;
        }
        q.tasks.push_back(task);
        drop(q);
        self.cv.notify_all();
        Submit::Queued
    }

    pub fn queued(&self) -> usize {
        self.queue.lock().tasks.len()
    }

    /// The next task, if `capacity` allows; tasks that waited too long are answered 503.
    pub fn take(&self, capacity: bool) -> Option<Task> {
        if !capacity {
            return None;
        }
        loop {
            let task = self.queue.lock().tasks.pop_front()?;
            if task.enqueued.elapsed() <= self.cfg.queue_timeout {
                return Some(task);
            }
            self.stats.queue_timeouts.fetch_add(1, Relaxed);
            answer(
                &task.reply,
                busy_reply("no script runtime became free in time"),
            );
        }
    }

    /// Sleeps until `until`, a new task, or stop. Returns false once stopping
    /// with nothing queued.
    pub fn wait(&self, until: Option<Instant>, capacity: bool) -> bool {
        let mut q = self.queue.lock();
        if capacity && !q.tasks.is_empty() {
            return true;
        }
        if q.stopping && q.tasks.is_empty() {
            return false;
        }
        let until = until.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        self.cv.wait_until(&mut q, until);
        true
    }

    pub fn stopping(&self) -> bool {
        self.queue.lock().stopping
    }

    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Waits (up to `within`) until every worker that is not stuck has exited.
    pub fn wait_exited(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.slots.lock().iter().all(|s| s.abandoned.load(Relaxed)) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let mut q = self.queue.lock();
            self.cv
                .wait_until(&mut q, deadline.min(now + Duration::from_millis(20)));
        }
    }

    pub fn stop(&self) {
        self.queue.lock().stopping = true;
        self.cv.notify_all();
    }
}

/// The pool of one generation. Dropping it stops it: the workers finish
/// what they hold, tear their runtimes down and exit.
pub struct Pool {
    pub shared: Arc<Shared>,
}

impl Pool {
    /// Starts the workers and waits until each has loaded the files.
    /// Returns the manifest (equal in every runtime) or the first load error.
    pub fn start(
        cfg: PoolConfig,
        env: WorkerEnv,
        stats: Arc<Stats>,
        dispatch: tracing::Dispatch,
    ) -> Result<(Pool, String), LoadError> {
        let shared = Arc::new(Shared {
            cfg,
            env,
            stats,
            dispatch,
            queue: Mutex::new(Queue {
                tasks: VecDeque::new(),
                stopping: false,
            }),
            cv: Condvar::new(),
            epoch: Instant::now(),
            busy: AtomicUsize::new(0),
            alive: AtomicUsize::new(0),
            abandoned: AtomicUsize::new(0),
            slots: Mutex::new(Vec::new()),
        });
        let pool = Pool {
            shared: shared.clone(),
        };
        let (tx, rx) = mpsc::channel();
        for _ in 0..cfg.size {
            spawn(&shared, Some(tx.clone()))?;
        }
        drop(tx);
        let mut manifest: Option<String> = None;
        let wait = cfg.limits.load * (shared.env.snapshot.files.len() as u32 + 2);
        for _ in 0..cfg.size {
            let m = match rx.recv_timeout(wait) {
                Ok(r) => r?,
                Err(_) => return Err(LoadError::new("<jsvm>", "a runtime did not finish loading")),
            };
            match &manifest {
                None => manifest = Some(m),
                Some(first) if *first != m => {
                    return Err(LoadError::new(
                        "<jsvm>",
                        "the files registered different routes or hooks in two runtimes (registration must not depend on Math.random or the clock)",
                    ))
                }
                Some(_) => {}
            }
        }
        let watchdog = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name(format!("jsvm-watchdog-{}", cfg.generation))
            .spawn(move || watch(watchdog))
            .map_err(|e| LoadError::new("<jsvm>", format!("cannot start the watchdog: {e}")))?;
        Ok((pool, manifest.unwrap_or_default()))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// Starts one worker thread.
fn spawn(
    shared: &Arc<Shared>,
    ready: Option<mpsc::Sender<Result<String, LoadError>>>,
) -> Result<(), LoadError> {
    let slot = Arc::new(Slot::default());
    shared.slots.lock().push(slot.clone());
    shared.alive.fetch_add(1, Relaxed);
    let s = shared.clone();
    let stack = shared.cfg.limits.stack * 4 + (1 << 20);
    std::thread::Builder::new()
        .name(format!("jsvm-{}", shared.cfg.generation))
        .stack_size(stack)
        .spawn(move || {
            let dispatch = s.dispatch.clone();
            tracing::dispatcher::with_default(&dispatch, || worker::run(&s, &slot, ready));
            s.alive.fetch_sub(1, Relaxed);
            s.slots.lock().retain(|x| !Arc::ptr_eq(x, &slot));
            s.cv.notify_all();
        })
        .map(|_| ())
        .map_err(|e| {
            shared.alive.fetch_sub(1, Relaxed);
            LoadError::new("<jsvm>", format!("cannot start a worker thread: {e}"))
        })
}

/// Gives up on slices that run past the deadline without polling (a C loop):
/// answers their executions, and starts a fresh worker in their place.
fn watch(shared: std::sync::Weak<Shared>) {
    loop {
        std::thread::sleep(WATCHDOG_TICK);
        let Some(s) = shared.upgrade() else { return };
        if s.stopping() && s.slots.lock().iter().all(|x| x.abandoned.load(Relaxed)) {
            return;
        }
        let limit = (s.cfg.timeout + s.cfg.grace).as_millis() as u64;
        let now = s.now_ms();
        let stuck: Vec<Arc<Slot>> = s
            .slots
            .lock()
            .iter()
            .filter(|slot| {
                let started = slot.slice_started.load(Relaxed);
                !slot.abandoned.load(Relaxed) && started != 0 && now.saturating_sub(started) > limit
            })
            .cloned()
            .collect();
        for slot in stuck {
            slot.abandoned.store(true, Relaxed);
            s.stats.abandoned.fetch_add(1, Relaxed);
            s.stats.resets.fetch_add(1, Relaxed);
            s.stats.timeouts.fetch_add(1, Relaxed);
            let replies: Vec<ReplySlot> = slot.inflight.lock().drain().map(|(_, r)| r).collect();
            for r in replies {
                answer(
                    &r,
                    Failure::Timeout
                        .reply("the script ran past its deadline (stuck in native code)"),
                );
            }
            tracing::error!(
                generation = s.cfg.generation,
                "jsvm: a runtime is stuck in native code; abandoning its thread"
            );
            let gone = s.abandoned.fetch_add(1, Relaxed) + 1;
            if gone > s.cfg.size {
                tracing::error!("jsvm: too many stuck runtimes, not replacing (pool unhealthy)");
            } else if !s.stopping() {
                if let Err(e) = spawn(&s, None) {
                    tracing::error!(error = %e, "jsvm: cannot replace a stuck runtime");
                }
            }
        }
    }
}
