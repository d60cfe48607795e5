//! A fixed, prewarmed pool of worker threads (one runtime each) behind a
//! bounded queue, and the watchdog that replaces a worker stuck in native
//! code that never polls the interrupt handler.
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::errors::{busy_reply, Failure, LoadError};
use super::host::Host;
use super::stats::Stats;
use super::task::{answer, ReplySlot, Task};
use super::vm::{Vm, VmLimits};
use super::worker;
use super::JsvmEvents;
use super::{cron::CronRun, cron::CronTable, plugins::PluginStates, sources::Snapshot};

/// How often the watchdog looks at the workers.
const WATCHDOG_TICK: Duration = Duration::from_millis(25);
/// Least number of stuck threads the process tolerates before it stops
/// replacing them (the cap is the larger of this and the pool's size).
const MIN_STUCK_CAP: usize = 4;

/// Threads abandoned in native code that have not exited yet, in the whole
/// process (every generation of every `Jsvm`): each still holds its runtime.
static STUCK: AtomicUsize = AtomicUsize::new(0);
/// The cap the last pool to abandon a thread used.
static STUCK_CAP: AtomicUsize = AtomicUsize::new(MIN_STUCK_CAP);

/// Threads stuck in native code now, process-wide.
pub fn stuck_threads() -> usize {
    STUCK.load(Relaxed)
}

/// Whether stuck threads are no longer replaced.
pub fn stuck_cap_reached() -> bool {
    STUCK.load(Relaxed) > STUCK_CAP.load(Relaxed)
}

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
    pub hub: Option<Arc<crate::hub::Hub>>,
}

impl WorkerEnv {
    /// Builds a runtime; `watch(true)`/`watch(false)` bracket each load
    /// slice so that the watchdog can see one stuck in native code.
    pub fn build_vm(&self, limits: VmLimits, watch: &dyn Fn(bool)) -> Result<Vm, LoadError> {
        let host = Host::new(
            self.snapshot.clone(),
            self.events.clone(),
            self.plugins.clone(),
            self.cron.clone(),
            self.hub.clone(),
            limits.memory,
        );
        Vm::build(std::rc::Rc::new(host), limits, watch)
    }
}

struct Queue {
    tasks: VecDeque<Task>,
    stopping: bool,
}

/// An execution a worker holds, as the watchdog and the exit guard see it.
pub struct Inflight {
    pub reply: ReplySlot,
    /// The cron run it is: held only to be dropped (i.e. ended) with the entry.
    #[allow(dead_code)]
    pub cron: Option<CronRun>,
}

/// Where a worker reports its first build (the pool's start waits on it).
pub type Ready = mpsc::Sender<Result<String, LoadError>>;

/// One worker as the watchdog sees it.
#[derive(Default)]
pub struct Slot {
    /// Start of the running slice (ms since the pool's epoch + 1); 0 = idle.
    pub slice_started: AtomicU64,
    /// How long that slice may run (ms) before the watchdog gives it up.
    pub slice_limit: AtomicU64,
    /// Set once, by whoever gives up on the thread (the watchdog) or by the
    /// thread itself as it exits; see [`Exit`].
    pub abandoned: AtomicBool,
    /// The executions this worker holds.
    pub inflight: Mutex<HashMap<u64, Inflight>>,
    /// Until the first build is reported.
    pub ready: Mutex<Option<Ready>>,
}

impl Slot {
    /// Answers and forgets every execution the worker held.
    fn release(&self, reply: impl Fn() -> crate::kernel::Reply) {
        let held: Vec<Inflight> = self.inflight.lock().drain().map(|(_, v)| v).collect();
        for h in held {
            answer(&h.reply, reply());
        }
    }
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
    /// Workers whose runtime failed to rebuild and that are retrying.
    pub rebuilding: AtomicUsize,
    slots: Mutex<Vec<Arc<Slot>>>,
    /// The registrations every runtime must reproduce (set once loaded).
    pub manifest: OnceLock<String>,
    /// Turns of the workers' loops (tests check that nothing spins).
    #[cfg(test)]
    pub loops: AtomicU64,
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

    /// All workers up, none missing or failing to rebuild its runtime.
    pub fn healthy(&self) -> bool {
        self.alive.load(Relaxed) >= self.cfg.size && self.rebuilding.load(Relaxed) == 0
    }

    /// The next task, if `capacity` allows; tasks that waited too long are
    /// answered 503 (a cron run among them ends as the task drops).
    pub fn take(&self, capacity: bool, now: Instant) -> Option<Task> {
        if !capacity {
            return None;
        }
        loop {
            let task = self.queue.lock().tasks.pop_front()?;
            if now.saturating_duration_since(task.enqueued) <= self.cfg.queue_timeout {
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
    /// with nothing queued (after still waiting until `until`: a stopping
    /// worker with executions asleep must not spin).
    pub fn wait(&self, until: Option<Instant>, capacity: bool) -> bool {
        #[cfg(test)]
        self.loops.fetch_add(1, Relaxed);
        let mut q = self.queue.lock();
        if capacity && !q.tasks.is_empty() {
            return true;
        }
        if q.stopping && q.tasks.is_empty() {
            if let Some(t) = until {
                self.cv.wait_until(&mut q, t);
            }
            return false;
        }
        let until = until.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        self.cv.wait_until(&mut q, until);
        true
    }

    /// Sleeps `d` unless stopping (wakes early on stop); false if stopping.
    pub fn pause(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        let mut q = self.queue.lock();
        while !q.stopping {
            if self.cv.wait_until(&mut q, until).timed_out() {
                return true;
            }
        }
        false
    }

    pub fn stopping(&self) -> bool {
        self.queue.lock().stopping
    }

    pub fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// `at` in ms since the pool's epoch + 1 (0 means idle).
    pub fn ms_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64 + 1
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
            rebuilding: AtomicUsize::new(0),
            slots: Mutex::new(Vec::new()),
            manifest: OnceLock::new(),
            #[cfg(test)]
            loops: AtomicU64::new(0),
        });
        let pool = Pool {
            shared: shared.clone(),
        };
        // The watchdog watches the loads too (a file stuck in native code).
        let watchdog = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name(format!("jsvm-watchdog-{}", cfg.generation))
            .spawn(move || watch(watchdog))
            .map_err(|e| LoadError::new("<jsvm>", format!("cannot start the watchdog: {e}")))?;
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
        let manifest = manifest.unwrap_or_default();
        let _ = shared.manifest.set(manifest.clone());
        Ok((pool, manifest))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// Starts one worker thread.
fn spawn(shared: &Arc<Shared>, ready: Option<Ready>) -> Result<(), LoadError> {
    let slot = Arc::new(Slot {
        ready: Mutex::new(ready),
        ..Slot::default()
    });
    shared.slots.lock().push(slot.clone());
    shared.alive.fetch_add(1, Relaxed);
    let (s, sl) = (shared.clone(), slot.clone());
    let stack = shared.cfg.limits.stack * 4 + (1 << 20);
    let spawned = std::thread::Builder::new()
        .name(format!("jsvm-{}", shared.cfg.generation))
        .stack_size(stack)
        .spawn(move || {
            let mut exit = Exit {
                shared: s,
                slot: sl,
                panicked: true,
            };
            let (s, slot) = (exit.shared.clone(), exit.slot.clone());
            let dispatch = s.dispatch.clone();
            // Any panic in the worker's loop, not only in a slice, ends here;
            // `exit` then releases the slot and replaces the worker.
            let r = catch_unwind(AssertUnwindSafe(|| {
                tracing::dispatcher::with_default(&dispatch, || worker::run(&s, &slot))
            }));
            exit.panicked = r.is_err();
        });
    match spawned {
        Ok(_) => Ok(()),
        Err(e) => {
            shared.alive.fetch_sub(1, Relaxed);
            shared.slots.lock().retain(|x| !Arc::ptr_eq(x, &slot));
            Err(LoadError::new(
                "<jsvm>",
                format!("cannot start a worker thread: {e}"),
            ))
        }
    }
}

/// A worker thread's bookkeeping, released however the thread ends (its
/// loop returned, it panicked, or it was abandoned and finally came back).
struct Exit {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    /// Until the loop returns normally.
    panicked: bool,
}

impl Drop for Exit {
    fn drop(&mut self) {
        let s = &self.shared;
        let was_abandoned = self.slot.abandoned.swap(true, SeqCst);
        if was_abandoned {
            // The watchdog counted it out already; it was stuck until now.
            STUCK.fetch_sub(1, SeqCst);
        } else {
            s.alive.fetch_sub(1, SeqCst);
        }
        // Whatever it still held gets its answer now (and cron runs end).
        self.slot
            .release(|| Failure::Reset.reply("the script runtime stopped"));
        let loading = match self.slot.ready.lock().take() {
            Some(tx) => {
                let _ = tx.send(Err(LoadError::new(
                    "<jsvm>",
                    "a runtime stopped while loading the files",
                )));
                true
            }
            None => false,
        };
        s.slots.lock().retain(|x| !Arc::ptr_eq(x, &self.slot));
        s.cv.notify_all();
        if self.panicked && !was_abandoned {
            s.stats.resets.fetch_add(1, Relaxed);
            tracing::error!(
                generation = s.cfg.generation,
                "jsvm: a worker panicked; its executions got 500 and it is replaced"
            );
        }
        // Replace it: after a panic, or when a stuck thread finally left a
        // pool that could not replace it then.
        let missing = s.alive.load(SeqCst) < s.cfg.size;
        let replace = (self.panicked || was_abandoned) && missing && !loading;
        if replace && !s.stopping() {
            if let Err(e) = spawn(s, None) {
                tracing::error!(error = %e, "jsvm: cannot replace a worker");
            }
        }
    }
}

/// Gives up on slices that run past their limit without polling (a C loop):
/// answers their executions, and starts a fresh worker in their place (or,
/// while loading, fails the build).
fn watch(shared: std::sync::Weak<Shared>) {
    loop {
        std::thread::sleep(WATCHDOG_TICK);
        let Some(s) = shared.upgrade() else { return };
        if s.stopping() && s.slots.lock().iter().all(|x| x.abandoned.load(Relaxed)) {
            return;
        }
        let grace = s.cfg.grace.as_millis() as u64;
        let now = s.now_ms();
        let stuck: Vec<Arc<Slot>> = s
            .slots
            .lock()
            .iter()
            .filter(|slot| {
                let started = slot.slice_started.load(Relaxed);
                let limit = slot.slice_limit.load(Relaxed) + grace;
                !slot.abandoned.load(Relaxed) && started != 0 && now.saturating_sub(started) > limit
            })
            .cloned()
            .collect();
        for slot in stuck {
            abandon(&s, &slot);
        }
    }
}

fn abandon(s: &Arc<Shared>, slot: &Slot) {
    if slot.abandoned.swap(true, SeqCst) {
        return; // it exited meanwhile
    }
    STUCK.fetch_add(1, SeqCst);
    s.alive.fetch_sub(1, SeqCst);
    s.stats.abandoned.fetch_add(1, Relaxed);
    s.stats.resets.fetch_add(1, Relaxed);
    let loading = slot.ready.lock().take();
    if let Some(tx) = loading {
        tracing::error!(
            generation = s.cfg.generation,
            "jsvm: loading the files is stuck in native code; abandoning its thread"
        );
        let _ = tx.send(Err(LoadError::new(
            "<jsvm>",
            "loading the files took too long (stuck in native code)",
        )));
        return;
    }
    s.stats.timeouts.fetch_add(1, Relaxed);
    slot.release(|| {
        Failure::Timeout.reply("the script ran past its deadline (stuck in native code)")
    });
    tracing::error!(
        generation = s.cfg.generation,
        "jsvm: a runtime is stuck in native code; abandoning its thread"
    );
    let cap = s.cfg.size.max(MIN_STUCK_CAP);
    STUCK_CAP.store(cap, Relaxed);
    if STUCK.load(SeqCst) > cap {
        tracing::error!("jsvm: too many stuck runtimes, not replacing (unhealthy)");
    } else if !s.stopping() {
        if let Err(e) = spawn(s, None) {
            tracing::error!(error = %e, "jsvm: cannot replace a stuck runtime");
        }
    }
}
