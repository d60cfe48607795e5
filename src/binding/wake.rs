//! Waking the JS thread to take a queue (requests, hub events, script
//! events): at most one wake-up is on its way at a time, and everything
//! queued before the JS side takes the queue rides on it.
use std::sync::atomic::{AtomicBool, Ordering};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

/// Called (without arguments) to drain a queue. Weak: a queue must not keep
/// Node alive; a listening server holds its own keep-alive.
type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true>;

pub(super) struct Wake {
    scheduled: AtomicBool,
    call: WakeFn,
}

impl Wake {
    /// Wraps the JS function that drains the queue.
    pub(super) fn new(drain: Function<(), ()>) -> Result<Wake> {
        let call = drain
            .build_threadsafe_function()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?;
        Ok(Wake {
            scheduled: AtomicBool::new(false),
            call,
        })
    }

    /// After queueing: schedules a wake-up unless one is on its way. Err with
    /// the status when the JS thread refused it (e.g. Node is exiting).
    pub(super) fn wake(&self) -> std::result::Result<(), Status> {
        if self.scheduled.swap(true, Ordering::SeqCst) {
            return Ok(()); // the wake-up on its way takes this one too
        }
        match self.call.call((), ThreadsafeFunctionCallMode::NonBlocking) {
            Status::Ok => Ok(()),
            status => {
                self.scheduled.store(false, Ordering::SeqCst);
                Err(status)
            }
        }
    }

    /// The JS side is about to take the queue: anything queued from now on
    /// schedules a new wake-up. Call before taking.
    pub(super) fn taking(&self) {
        self.scheduled.store(false, Ordering::SeqCst);
    }
}
