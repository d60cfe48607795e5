//! What the pool runs, and where the answer goes.
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::cron::CronRun;
use crate::kernel::Reply;

#[derive(Debug)]
pub enum TaskKind {
    /// A hook route: its index in the manifest, the request as JSON, the body.
    Route {
        index: usize,
        meta: String,
        body: String,
    },
    /// `app.on(name)` listeners, with the data as JSON.
    Event { name: String, data: String },
    /// A run of a cron job (dropping the task ends the run).
    Cron { run: CronRun },
    /// `onBootstrap` / `onTerminate` (the prelude's chain names).
    Chain { chain: &'static str },
    /// A hub event: `wsConnect` / `wsDisconnect` (arg empty) or `wsMessage`
    /// (arg: the message type), with the event as JSON.
    Hub {
        kind: &'static str,
        arg: String,
        data: String,
    },
}

/// A task as the prelude's `dispatch(id, kind, arg, data, body)` takes it,
/// and the cron run it holds (moved, not copied).
pub struct DispatchArgs {
    /// A hook route's index: the prelude's `route(id, index, data, body)` instead.
    pub route: Option<usize>,
    pub kind: &'static str,
    pub arg: String,
    pub data: String,
    pub body: String,
    pub cron: Option<CronRun>,
}

impl TaskKind {
    pub fn into_dispatch(self) -> DispatchArgs {
        let mut route = None;
        let (kind, arg, data, body, cron) = match self {
            TaskKind::Route { index, meta, body } => {
                route = Some(index);
                ("route", String::new(), meta, body, None)
            }
            TaskKind::Event { name, data } => ("event", name, data, String::new(), None),
            TaskKind::Cron { run } => (
                "cron",
                run.id().to_owned(),
                String::new(),
                String::new(),
                Some(run),
            ),
            TaskKind::Chain { chain } => (chain, String::new(), String::new(), String::new(), None),
            TaskKind::Hub { kind, arg, data } => (kind, arg, data, String::new(), None),
        };
        DispatchArgs {
            route,
            kind,
            arg,
            data,
            body,
            cron,
        }
    }
}

/// Where the reply goes.
pub enum ReplyTo {
    /// An HTTP request waiting in `Jsvm::call`.
    Http(oneshot::Sender<Reply>),
    /// A blocking caller (e.g. `onTerminate` at shutdown).
    Wait(std::sync::mpsc::SyncSender<Reply>),
    /// Nobody waits (events, cron).
    Nobody,
    /// Called with the reply (e.g. a hub message's outcome); must not block.
    Call(Box<dyn FnOnce(Reply) + Send>),
}

impl ReplyTo {
    pub fn send(self, reply: Reply) {
        match self {
            ReplyTo::Http(tx) => {
                let _ = tx.send(reply);
            }
            ReplyTo::Wait(tx) => {
                let _ = tx.try_send(reply);
            }
            ReplyTo::Nobody => {}
            ReplyTo::Call(f) => f(reply),
        }
    }
}

/// A reply slot the worker and the watchdog share: whoever takes it answers.
pub type ReplySlot = Arc<Mutex<Option<ReplyTo>>>;

pub struct Task {
    pub kind: TaskKind,
    /// Label for stats and logs (`GET /api/x`, `cron:id`, `event:name`).
    pub label: Arc<str>,
    pub enqueued: Instant,
    pub reply: ReplySlot,
}

impl Task {
    pub fn new(kind: TaskKind, label: Arc<str>, reply: ReplyTo) -> Task {
        Task {
            kind,
            label,
            enqueued: Instant::now(),
            reply: Arc::new(Mutex::new(Some(reply))),
        }
    }
}

/// Answers through a slot if nobody has yet.
pub fn answer(slot: &ReplySlot, reply: Reply) -> bool {
    // Taken first: a `ReplyTo::Call` runs hub code, never under the slot's lock.
    let taken = slot.lock().take();
    match taken {
        Some(to) => {
            to.send(reply);
            true
        }
        None => false,
    }
}
