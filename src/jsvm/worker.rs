//! The worker thread: owns one runtime, takes tasks between slices, fires
//! `sleep` timers, ends executions at their deadline, and replaces its
//! runtime after a limit was hit.
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use super::errors::{parse_location, Failure, LoadError};
use super::globals::emit_log;
use super::host::{Outcome, MAX_TIMERS_PER_EXEC};
use super::pool::{Shared, Slot};
use super::reply::done_reply;
use super::task::{answer, ReplySlot, Task, TaskKind};
use super::vm::{Runaway, Vm};

struct Exec {
    reply: ReplySlot,
    label: Arc<str>,
    started: Instant,
    deadline: Instant,
    timers: Vec<u64>,
    done: bool,
    cron: Option<String>,
}

struct Worker<'a> {
    shared: &'a Shared,
    slot: &'a Slot,
    vm: Vm,
    execs: HashMap<u64, Exec>,
    timers: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    next_id: u64,
}

pub fn run(
    shared: &Arc<Shared>,
    slot: &Arc<Slot>,
    ready: Option<mpsc::Sender<Result<String, LoadError>>>,
) {
    let vm = match shared.env.build_vm(shared.cfg.limits) {
        Ok(vm) => vm,
        Err(e) => {
            match ready {
                Some(tx) => {
                    let _ = tx.send(Err(e));
                }
                None => tracing::error!(error = %e, "jsvm: cannot rebuild a runtime"),
            }
            return;
        }
    };
    if let Some(tx) = ready {
        let _ = tx.send(Ok(vm.manifest.clone()));
    }
    let mut w = Worker {
        shared,
        slot,
        vm,
        execs: HashMap::new(),
        timers: BinaryHeap::new(),
        next_id: 1,
    };
    w.run();
    // Leaving (stopped or abandoned): no job may stay marked as running.
    for e in w.execs.values() {
        if let Some(c) = &e.cron {
            w.vm.host.cron.finished(c);
        }
    }
}

impl Worker<'_> {
    fn run(&mut self) {
        loop {
            if self.slot.abandoned.load(Relaxed) {
                return;
            }
            self.fire_timers();
            self.expire();
            let capacity = self.execs.len() < self.shared.cfg.max_async;
            if let Some(task) = self.shared.take(capacity) {
                self.start(task);
                continue;
            }
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

    fn start(&mut self, task: Task) {
        let id = self.next_id;
        self.next_id += 1;
        let now = Instant::now();
        let deadline = now + self.shared.cfg.timeout;
        self.slot.inflight.lock().insert(id, task.reply.clone());
        let cron = match &task.kind {
            TaskKind::Cron { id } => Some(id.clone()),
            _ => None,
        };
        self.execs.insert(
            id,
            Exec {
                reply: task.reply,
                label: task.label,
                started: now,
                deadline,
                timers: Vec::new(),
                done: false,
                cron,
            },
        );
        let (kind, arg, data, body) = task.kind.dispatch_args();
        let args = (
            id as f64,
            kind.to_string(),
            arg,
            data.to_string(),
            body.to_string(),
        );
        self.slice(id, "dispatch", args, deadline);
    }

    /// One slice for execution `id`, then its effects.
    fn slice<A>(&mut self, id: u64, method: &str, args: A, deadline: Instant)
    where
        A: for<'js> rquickjs::function::IntoArgs<'js>,
    {
        self.vm.host.current.set(Some(id));
        self.slot.slice_started.store(self.shared.now_ms(), Relaxed);
        self.shared.busy.fetch_add(1, Relaxed);
        let vm = &self.vm;
        let r = catch_unwind(AssertUnwindSafe(|| vm.slice(method, args, deadline)));
        self.shared.busy.fetch_sub(1, Relaxed);
        self.slot.slice_started.store(0, Relaxed);
        self.vm.host.current.set(None);
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
        let outcomes: Vec<Outcome> = self.vm.host.outbox.borrow_mut().drain(..).collect();
        for o in outcomes {
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
                    let msg = "too many pending sleep() calls";
                    self.end(t.exec, Failure::Thrown, msg);
                }
                None => {}
            }
        }
        if let Err(run) = r {
            self.end(id, run.failure, &run.message);
            if run.failure.resets() || reset.is_none() {
                reset = Some(run.failure);
            }
        }
        self.reap();
        if let Some(f) = reset.filter(|f| f.resets()) {
            self.reset(f);
        } else if !self.vm.healthy() {
            self.reset(Failure::Memory);
        }
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
                let ok = status < 500;
                if let Some(e) = self.close(id, ok) {
                    answer(&e, done_reply(status, &ctype, body, &headers));
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

    /// Marks `id` done and records it; returns its reply slot if still open.
    fn close(&mut self, id: u64, ok: bool) -> Option<ReplySlot> {
        let e = self.execs.get_mut(&id)?;
        if e.done {
            return None;
        }
        e.done = true;
        let ms = e.started.elapsed().as_secs_f64() * 1000.0;
        self.shared.stats.record(&e.label, ms, ok);
        self.slot.inflight.lock().remove(&id);
        Some(e.reply.clone())
    }

    /// Ends `id` with a failure reply.
    fn end(&mut self, id: u64, failure: Failure, message: &str) {
        if failure == Failure::Timeout {
            self.shared.stats.timeouts.fetch_add(1, Relaxed);
        }
        if let Some(reply) = self.close(id, false) {
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
    }

    /// Forgets finished executions that hold no timer.
    fn reap(&mut self) {
        let gone: Vec<u64> = self
            .execs
            .iter()
            .filter(|(_, e)| e.done && e.timers.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(e) = self.execs.remove(&id) {
                if let Some(c) = e.cron {
                    self.vm.host.cron.finished(&c);
                }
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, timer, exec))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(e) = self.execs.get_mut(&exec) else {
                continue;
            };
            e.timers.retain(|t| *t != timer);
            let deadline = e.deadline;
            self.slice(exec, "fire", (timer as f64,), deadline);
        }
    }

    /// Executions past their deadline: 503, and their timers dropped.
    fn expire(&mut self) {
        let now = Instant::now();
        let late: Vec<u64> = self
            .execs
            .iter()
            .filter(|(_, e)| e.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.end(id, Failure::Timeout, "");
            let timers = self
                .execs
                .get_mut(&id)
                .map(|e| std::mem::take(&mut e.timers))
                .unwrap_or_default();
            for t in timers {
                self.slice(id, "drop", (t as f64,), now + self.shared.cfg.timeout);
            }
        }
        self.reap();
    }

    /// Replaces the runtime: every execution it held ends with an error.
    fn reset(&mut self, cause: Failure) {
        self.shared.stats.resets.fetch_add(1, Relaxed);
        tracing::warn!(cause = ?cause, "jsvm: replacing a runtime after a limit was hit");
        let ids: Vec<u64> = self.execs.keys().copied().collect();
        for id in ids {
            self.end(id, Failure::Reset, "");
            if let Some(e) = self.execs.get_mut(&id) {
                e.timers.clear();
            }
        }
        self.reap();
        self.timers.clear();
        match self.shared.env.build_vm(self.shared.cfg.limits) {
            Ok(vm) => self.vm = vm,
            Err(e) => {
                tracing::error!(error = %e, "jsvm: cannot rebuild a runtime; the worker stops");
                self.slot.abandoned.store(true, Relaxed);
            }
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
