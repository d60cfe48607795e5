//! Wake-ups of the loop server: a future it polls (a request waiting for
//! JavaScript, a Redis reply, a timer) is woken from any thread; the wake
//! lands in one list and makes the server's poll fd readable once, so the
//! thread that runs the loop (Node's) turns it.
use std::cell::Cell;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::thread::ThreadId;

use parking_lot::Mutex;

/// What a wake names: a connection (and its generation, so a wake for a
/// connection closed since is ignored) or one of the server's own timers.
pub(super) type WakeId = (usize, u32);

/// The id of the server's own timers (header timeouts, the stop deadline).
pub(super) const SERVER: usize = usize::MAX;

pub(super) struct WakeQueue {
    list: Mutex<Vec<WakeId>>,
    poke: mio::Waker,
    /// The thread that turns the server.
    owner: ThreadId,
}

thread_local! {
    /// True while a loop server turns on this thread.
    static IN_TURN: Cell<bool> = const { Cell::new(false) };
    /// Set by [`hushed`]: the owner turns its servers right after, so wakes
    /// on its own thread need not poke the poll fd.
    static HUSH: Cell<bool> = const { Cell::new(false) };
}

/// Whether a loop server is turning on this thread: work it starts (a
/// request for JavaScript) belongs to this thread, not to a runtime task.
pub fn in_turn() -> bool {
    IN_TURN.with(Cell::get)
}

/// Marks this thread as turning a loop server until dropped.
pub(super) struct Turning(bool);

impl Turning {
    pub(super) fn start() -> Turning {
        Turning(IN_TURN.with(|t| t.replace(true)))
    }
}

impl Drop for Turning {
    fn drop(&mut self) {
        IN_TURN.with(|t| t.set(self.0));
    }
}

/// Runs `f` (which wakes answers, e.g. by delivering JavaScript's) with the
/// pokes of this thread's own servers held back; the caller turns them
/// right after, which takes the wakes `f` queued.
pub fn hushed<T>(f: impl FnOnce() -> T) -> T {
    struct Unhush(bool);
    impl Drop for Unhush {
        fn drop(&mut self) {
            HUSH.with(|h| h.set(self.0));
        }
    }
    let _unhush = Unhush(HUSH.with(|h| h.replace(true)));
    f()
}

impl WakeQueue {
    pub(super) fn new(poke: mio::Waker) -> Arc<WakeQueue> {
        Arc::new(WakeQueue {
            list: Mutex::new(Vec::new()),
            poke,
            owner: std::thread::current().id(),
        })
    }

    /// Queues `id`; the first wake since the last turn makes the poll fd readable.
    pub(super) fn push(&self, id: WakeId) {
        let first = {
            let mut list = self.list.lock();
            let first = list.is_empty();
            list.push(id);
            first
        };
        if first && !(HUSH.with(Cell::get) && std::thread::current().id() == self.owner) {
            if let Err(e) = self.poke.wake() {
                tracing::error!(error = %e, "loop server: could not wake the loop");
            }
        }
    }

    /// Takes the wakes queued since the last call (into `into`, emptied first).
    pub(super) fn take(&self, into: &mut Vec<WakeId>) {
        into.clear();
        std::mem::swap(&mut *self.list.lock(), into);
    }

    /// A waker for `id`.
    pub(super) fn waker(self: &Arc<Self>, id: WakeId) -> Waker {
        Waker::from(Arc::new(TaskWake {
            id,
            queue: self.clone(),
        }))
    }
}

struct TaskWake {
    id: WakeId,
    queue: Arc<WakeQueue>,
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.queue.push(self.id);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.queue.push(self.id);
    }
}
