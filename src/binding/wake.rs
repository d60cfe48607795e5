//! The waker of a queue (requests, hub events, script events): a JS function
//! called without arguments through a ThreadsafeFunction. The queue itself,
//! and its one wake-up on its way, is `nebula_core::support::wake_queue`.
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use nebula_core::support::wake_queue::{WakeRefused, Waker};

/// Called (without arguments) to drain a queue. Weak: a queue must not keep
/// Node alive; a listening server holds its own keep-alive.
type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true>;

pub(super) struct JsWaker(WakeFn);

/// Wraps the JS function that drains a queue.
pub(super) fn waker(drain: Function<(), ()>) -> Result<JsWaker> {
    let call = drain
        .build_threadsafe_function()
        .weak::<true>()
        .callee_handled::<false>()
        .build()?;
    Ok(JsWaker(call))
}

impl Waker for JsWaker {
    /// Err with the status when the JS thread refused it (e.g. Node is exiting).
    fn wake(&self) -> std::result::Result<(), WakeRefused> {
        match self.0.call((), ThreadsafeFunctionCallMode::NonBlocking) {
            Status::Ok => Ok(()),
            status => Err(WakeRefused(status.to_string())),
        }
    }
}

/// The request queue's waker in loop mode: during a loop server's turn on
/// the engine's own thread, the drain runs right after the turn (see
/// `uv_loop::LoopDrain`); otherwise through the ThreadsafeFunction.
#[cfg(unix)]
pub(super) struct LoopWaker(pub(super) std::sync::Arc<super::uv_loop::LoopDrain>);

#[cfg(unix)]
impl Waker for LoopWaker {
    fn wake(&self) -> std::result::Result<(), WakeRefused> {
        if self.0.defer() {
            return Ok(());
        }
        self.0.fallback.wake()
    }
}
