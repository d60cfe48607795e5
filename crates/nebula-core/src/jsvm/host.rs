//! What the Rust globals of one runtime share with its worker: the snapshot,
//! the owner's event sink, and the outbox where `done`/`fail`/`sleep` leave
//! their effects for the worker to apply after the slice (the natives never
//! call back into the worker while JavaScript runs).
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cron::CronTable;
use super::errors::Failure;
use super::gate::Gate;
use super::plugins::PluginStates;
use super::sources::Snapshot;
use super::JsvmEvents;
use crate::hub::Hub;

/// How an execution ended, as reported by the prelude.
#[derive(Debug)]
pub enum Outcome {
    Done {
        id: u64,
        status: u16,
        ctype: String,
        body: String,
        headers: String,
    },
    Failed {
        id: u64,
        failure: Failure,
        message: String,
        stack: String,
    },
}

/// A `sleep(ms)` made during a slice.
#[derive(Debug, Clone, Copy)]
pub struct NewTimer {
    pub exec: u64,
    pub timer: u64,
    pub after: Duration,
}

/// Most timers one execution may hold at once.
pub const MAX_TIMERS_PER_EXEC: usize = 1024;

pub struct Host {
    pub snapshot: Arc<Snapshot>,
    pub events: Arc<dyn JsvmEvents>,
    pub plugins: Arc<PluginStates>,
    pub cron: Arc<CronTable>,
    /// The engine's hub, when it has one (`N.hub` in the prelude).
    pub hub: Option<Arc<Hub>>,
    /// The running slice's deadline, shared with the runtime's interrupt
    /// handler and allocator.
    pub gate: std::rc::Rc<Gate>,
    /// `ToLength(this.length)` above this is refused by the Array guards.
    pub max_array_len: f64,
    /// The execution whose slice is running (None while loading).
    pub current: Cell<Option<u64>>,
    /// Its deadline: a `sleep` never outlives it.
    pub deadline: Cell<Option<Instant>>,
    /// Test hook: the worker panics after this slice (outside it).
    #[cfg(test)]
    pub panic_after: Cell<bool>,
    pub outbox: RefCell<Vec<Outcome>>,
    pub new_timers: RefCell<Vec<NewTimer>>,
    next_timer: Cell<u64>,
}

impl Host {
    pub fn new(
        snapshot: Arc<Snapshot>,
        events: Arc<dyn JsvmEvents>,
        plugins: Arc<PluginStates>,
        cron: Arc<CronTable>,
        hub: Option<Arc<Hub>>,
        memory_limit: usize,
    ) -> Host {
        Host {
            snapshot,
            events,
            plugins,
            cron,
            hub,
            gate: std::rc::Rc::default(),
            max_array_len: (memory_limit / 16) as f64,
            current: Cell::new(None),
            deadline: Cell::new(None),
            #[cfg(test)]
            panic_after: Cell::new(false),
            outbox: RefCell::new(Vec::new()),
            new_timers: RefCell::new(Vec::new()),
            next_timer: Cell::new(1),
        }
    }

    pub fn timer_id(&self) -> u64 {
        let id = self.next_timer.get();
        self.next_timer.set(id + 1);
        id
    }
}
