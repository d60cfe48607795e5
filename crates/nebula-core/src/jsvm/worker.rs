//! The worker thread: owns one runtime, takes tasks between slices, fires
//! `sleep` timers, ends executions at their deadline, and replaces its
//! runtime after a limit was hit.
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::errors::{parse_location, Failure, LoadError};
use super::globals::emit_log;
use super::host::{Outcome, MAX_TIMERS_PER_EXEC};
use super::pool::{Inflight, Shared, Slot};
use super::reply::done_reply;
use super::task::{answer, ReplySlot, Task};
use super::vm::{Runaway, Vm};

/// Slices between two looks at the runtime's memory (it walks the heap,
/// tens of µs): at least [`HEALTH_EVERY`] slices and [`HEALTH_GAP`] apart,
/// or [`HEALTH_MAX`] slices, whichever comes first.
const HEALTH_EVERY: u64 = 64;
const HEALTH_GAP: Duration = Duration::from_millis(20);
const HEALTH_MAX: u64 = 1024;
/// Longest pause between two attempts at rebuilding a runtime.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

struct Exec {
    label: Arc<str>,
    started: Instant,
    deadline: Instant,
    /// Its pending `sleep` timers.
    timers: Vec<u64>,
}

struct Worker<'a> {
    shared: &'a Shared,
    slot: &'a Slot,
    vm: Vm,
    /// Executions still running (answered ones are removed at once).
    execs: HashMap<u64, Exec>,
    /// `(when, timer, exec)`; entries of ended executions are skipped (lazy deletion).
    timers: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    /// Timers of ended executions whose resolvers the prelude should forget.
    dropped: Vec<u64>,
    next_id: u64,
    slices: u64,
    /// The last look at the runtime's memory (slice count, time).
    health: (u64, Instant),
    /// The runtime could not be rebuilt (stopping): leave.
    quit: bool,
}

pub fn run(shared: &Arc<Shared>, slot: &Arc<Slot>) {
    let initial = slot.ready.lock().is_some();
    let vm = if initial {
        let built = build(shared, slot);
        // None: the watchdog gave up on this load and failed the build.
        let Some(tx) = slot.ready.lock().take() else {
            return;
        };
        match built {
            Ok(vm) => {
                let _ = tx.send(Ok(vm.manifest.clone()));
                vm
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    } else {
        match rebuild(shared, slot) {
            Some(vm) => vm,
            None => return,
        }
    };
    let mut w = Worker {
        shared,
        slot,
        vm,
        execs: HashMap::new(),
        timers: BinaryHeap::new(),
        dropped: Vec::new(),
        next_id: 1,
        slices: 0,
        health: (0, Instant::now()),
        quit: false,
    };
    w.run();
}

/// Builds a runtime with its load slices under the watchdog.
fn build(shared: &Shared, slot: &Slot) -> Result<Vm, LoadError> {
    let limit = shared.cfg.limits.load.as_millis() as u64;
    let watch = |on: bool| {
        if on {
            slot.slice_limit.store(limit, Relaxed);
            slot.slice_started.store(shared.now_ms(), Relaxed);
        } else {
            slot.slice_started.store(0, Relaxed);
        }
    };
    shared.env.build_vm(shared.cfg.limits, &watch)
}

/// Builds a replacement runtime, which must register exactly what its
/// generation's table holds (else route indexes would point elsewhere);
/// retries with backoff until it does, or the pool stops. None: stop.
fn rebuild(shared: &Shared, slot: &Slot) -> Option<Vm> {
    let mut failing = false;
    let vm = rebuild_retrying(shared, slot, &mut failing);
    if failing {
        shared.rebuilding.fetch_sub(1, Relaxed);
    }
    vm
}

fn rebuild_retrying(shared: &Shared, slot: &Slot, failing: &mut bool) -> Option<Vm> {
    let mut backoff = Duration::from_millis(50);
    loop {
        if slot.abandoned.load(Relaxed) {
            return None;
        }
        match build(shared, slot) {
            Ok(vm) => match shared.manifest.get() {
                Some(m) if *m != vm.manifest => tracing::error!(
                    generation = shared.cfg.generation,
                    "jsvm: a rebuilt runtime registered other routes or hooks than its generation (registration must not depend on Math.random or the clock); retrying"
                ),
                _ => return Some(vm),
            },
            Err(e) => tracing::error!(error = %e, "jsvm: cannot rebuild a runtime; retrying"),
        }
        if !*failing {
            *failing = true;
            shared.rebuilding.fetch_add(1, Relaxed);
        }
        shared.stats.rebuild_retries.fetch_add(1, Relaxed);
        if !shared.pause(backoff) {
            return None;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

impl Worker<'_> {
    fn run(&mut self) {
        loop {
            if self.quit || self.slot.abandoned.load(Relaxed) {
                return;
            }
            // One clock read per turn (they are not free in a VM), again
            // only after a slice ran.
            let mut now = Instant::now();
            self.expire(now);
            let fired = self.fire_timers(now);
            if self.forget_dropped() || fired {
                now = Instant::now();
            }
            let capacity = self.execs.len() < self.shared.cfg.max_async;
            if let Some(task) = self.shared.take(capacity, now) {
                self.start(task, now);
                continue;
            }
            self.prune_timers();
            let next = self
                .timers
                .peek()
                .map(|Reverse((t, _, _))| *t)
                .into_iter()
                .chain(self.execs.values().map(|e| e.deadline))
                .min();
            if !self.shared.wait(next, capacity) && self.execs.is_empty() {
                return;
            }
        }
    }

    fn start(&mut self, task: Task, now: Instant) {
        let id = self.next_id;
        self.next_id += 1;
        let deadline = now + self.shared.cfg.timeout;
        let d = task.kind.into_dispatch();
        let cron = d.cron;
        self.slot.inflight.lock().insert(
            id,
            Inflight {
                reply: task.reply,
                cron,
            },
        );
        self.execs.insert(
            id,
            Exec {
                label: task.label,
                started: now,
                deadline,
                timers: Vec::new(),
            },
        );
        let (data, body) = (d.data.as_str(), d.body.as_str());
        match d.route {
            Some(index) => {
                let args = (id as f64, index as f64, data, body);
                self.slice(id, "route", args, deadline, now);
            }
            None => {
                let args = (id as f64, d.kind, d.arg.as_str(), data, body);
                self.slice(id, "dispatch", args, deadline, now);
            }
        }
    }

    /// One slice for execution `id` (starting at `now`), then its effects.
    fn slice<A>(&mut self, id: u64, method: &str, args: A, deadline: Instant, now: Instant)
    where
        A: for<'js> rquickjs::function::IntoArgs<'js>,
    {
        self.vm.host.current.set(Some(id));
        self.vm.host.deadline.set(Some(deadline));
        // The watchdog measures from the execution's own deadline (a timer's
        // slice may start late in its execution's time).
        // (`now` may be a little old: the limit counts from it, so the
        // watchdog still gives up at the deadline plus its grace.)
        let left = deadline.saturating_duration_since(now);
        self.slot
            .slice_limit
            .store(left.as_millis() as u64, Relaxed);
        self.slot
            .slice_started
            .store(self.shared.ms_at(now), Relaxed);
        self.shared.busy.fetch_add(1, Relaxed);
        let vm = &self.vm;
        let r = catch_unwind(AssertUnwindSafe(|| vm.slice(method, args, deadline)));
        self.shared.busy.fetch_sub(1, Relaxed);
        self.slot.slice_started.store(0, Relaxed);
        self.vm.host.current.set(None);
        self.vm.host.deadline.set(None);
        // Past its deadline inside native calls (given up on or not), the
        // slice was stopped by refusing its large allocations.
        let refused = self.vm.refused();
        if refused {
            self.shared.stats.native_stops.fetch_add(1, Relaxed);
            tracing::warn!(
                generation = self.shared.cfg.generation,
                "jsvm: a script ran past its deadline inside native calls; its large allocations were refused and it was stopped"
            );
        }
        if self.slot.abandoned.load(Relaxed) {
            return; // the watchdog answered; this thread is leaving
        }
        let r = r.unwrap_or_else(|_| {
            Err(Runaway {
                failure: Failure::Panic,
                message: "internal error in the script runtime".into(),
            })
        });
        let mut reset = None;
        // The slice had its large allocations refused: the "out of memory"
        // that caused is a timeout, and the runtime is replaced like after
        // any timeout.
        if refused {
            reset = Some(Failure::Timeout);
        }
        let outcomes: Vec<Outcome> = self.vm.host.outbox.borrow_mut().drain(..).collect();
        for mut o in outcomes {
            if let Outcome::Failed { failure, .. } = &mut o {
                if refused && matches!(*failure, Failure::Memory | Failure::Thrown) {
                    *failure = Failure::Timeout;
                }
            }
            if let Some(f) = self.finish(o) {
                reset = Some(f);
            }
        }
        let timers: Vec<_> = self.vm.host.new_timers.borrow_mut().drain(..).collect();
        for t in timers {
            match self.execs.get_mut(&t.exec) {
                Some(e) if e.timers.len() < MAX_TIMERS_PER_EXEC => {
                    e.timers.push(t.timer);
                    self.timers
                        .push(Reverse((Instant::now() + t.after, t.timer, t.exec)));
                }
                Some(_) => {
                    self.dropped.push(t.timer);
                    let msg = "too many pending sleep() calls";
                    self.end(t.exec, Failure::Thrown, msg);
                }
                // Made by an execution that has answered since: forgotten.
                None => self.dropped.push(t.timer),
            }
        }
        if let Err(run) = r {
            self.end(id, run.failure, &run.message);
            if run.failure.resets() || reset.is_none() {
                reset = Some(run.failure);
            }
        }
        #[cfg(test)]
        if self.vm.host.panic_after.take() {
            panic!("test: a panic in the worker loop, outside any slice");
        }
        self.slices += 1;
        if let Some(f) = reset.filter(|f| f.resets()) {
            self.reset(f);
        } else if self.health_due() && !self.vm.healthy() {
            self.reset(Failure::Memory);
        }
    }

    fn health_due(&mut self) -> bool {
        let since = self.slices - self.health.0;
        if since < HEALTH_EVERY {
            return false;
        }
        let now = Instant::now();
        if since < HEALTH_MAX && now.duration_since(self.health.1) < HEALTH_GAP {
            return false;
        }
        self.health = (self.slices, now);
        true
    }

    /// Applies an outcome; returns the failure if it calls for a reset.
    fn finish(&mut self, o: Outcome) -> Option<Failure> {
        match o {
            Outcome::Done {
                id,
                status,
                ctype,
                body,
                headers,
            } => {
                if self.execs.contains_key(&id) {
                    let reply = done_reply(status, &ctype, body, &headers);
                    let ok = reply.status.as_u16() < 500;
                    if let Some(slot) = self.close(id, ok) {
                        answer(&slot, reply);
                    }
                }
                None
            }
            Outcome::Failed {
                id,
                failure,
                message,
                stack,
            } => {
                let label = self.execs.get(&id).map(|e| e.label.clone());
                if let Some(label) = label {
                    log_failure(&label, &message, &stack);
                }
                self.end(id, failure, &message);
                failure.resets().then_some(failure)
            }
        }
    }

    /// Ends `id`: records it, forgets it and its timers, ends its cron run;
    /// returns its reply slot if nobody answered yet.
    fn close(&mut self, id: u64, ok: bool) -> Option<ReplySlot> {
        let e = self.execs.remove(&id)?;
        self.dropped.extend(e.timers);
        let ms = e.started.elapsed().as_secs_f64() * 1000.0;
        self.shared.stats.record(&e.label, ms, ok);
        let held = self.slot.inflight.lock().remove(&id);
        held.map(|h| h.reply)
    }

    /// Ends `id` with a failure reply (if it has not answered yet).
    fn end(&mut self, id: u64, failure: Failure, message: &str) {
        let Some(reply) = self.close(id, false) else {
            return;
        };
        if failure == Failure::Timeout {
            self.shared.stats.timeouts.fetch_add(1, Relaxed);
        }
        let client = match failure {
            Failure::Thrown | Failure::BadRequest => message.to_string(),
            Failure::Timeout => "the script ran past its deadline".into(),
            Failure::Memory => "the script ran out of memory".into(),
            Failure::Stack => "the script exceeded the stack limit".into(),
            Failure::Reset => "the script runtime was reset".into(),
            Failure::Panic => "internal error in the script runtime".into(),
        };
        answer(&reply, failure.reply(&client));
    }

    /// Drops heap entries of timers that no longer belong to a running execution.
    fn prune_timers(&mut self) {
        while let Some(Reverse((_, timer, exec))) = self.timers.peek().copied() {
            let live = self
                .execs
                .get(&exec)
                .is_some_and(|e| e.timers.contains(&timer));
            if live {
                return;
            }
            self.timers.pop();
        }
    }

    /// Runs the timers due at `now`; true if any slice ran.
    fn fire_timers(&mut self, now: Instant) -> bool {
        let mut ran = false;
        while let Some(Reverse((at, timer, exec))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(e) = self.execs.get_mut(&exec) else {
                continue;
            };
            let before = e.timers.len();
            e.timers.retain(|t| *t != timer);
            if e.timers.len() == before {
                continue;
            }
            let deadline = e.deadline;
            let at = if ran { Instant::now() } else { now };
            self.slice(exec, "fire", (timer as f64,), deadline, at);
            ran = true;
        }
        ran
    }

    /// Tells the prelude to forget the resolvers of ended executions' timers.
    /// True if a slice ran.
    fn forget_dropped(&mut self) -> bool {
        if self.dropped.is_empty() {
            return false;
        }
        let ids: Vec<f64> = self.dropped.drain(..).map(|t| t as f64).collect();
        let now = Instant::now();
        let deadline = now + self.shared.cfg.timeout;
        // Execution 0 does not exist: nothing is answered from this slice.
        self.slice(0, "drop", (ids,), deadline, now);
        true
    }

    /// Executions past their deadline: 503, and their timers dropped.
    fn expire(&mut self, now: Instant) {
        let late: Vec<u64> = self
            .execs
            .iter()
            .filter(|(_, e)| e.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.end(id, Failure::Timeout, "");
        }
    }

    /// Replaces the runtime: every execution it held ends with an error.
    fn reset(&mut self, cause: Failure) {
        self.shared.stats.resets.fetch_add(1, Relaxed);
        tracing::warn!(cause = ?cause, "jsvm: replacing a runtime after a limit was hit");
        let ids: Vec<u64> = self.execs.keys().copied().collect();
        for id in ids {
            self.end(id, Failure::Reset, "");
        }
        // The old runtime's timers and resolvers go with it.
        self.timers.clear();
        self.dropped.clear();
        match rebuild(self.shared, self.slot) {
            Some(vm) => self.vm = vm,
            None => self.quit = true,
        }
    }
}

/// A script error into the log, with its file and line when the stack has them.
fn log_failure(label: &str, message: &str, stack: &str) {
    let (file, line) = match parse_location(stack) {
        Some((f, l, _)) => (f, l),
        None => ("?".into(), 0),
    };
    emit_log(
        tracing::Level::ERROR,
        &file,
        &format!("{label} failed at line {line}: {message}"),
    );
}
