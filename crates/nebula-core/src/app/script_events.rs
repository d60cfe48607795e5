//! Scripts' `events.emit(name, data)` on their way to the JavaScript
//! thread, queued in a [`WakeQueue`] and taken in batches after one wake-up,
//! as requests are. Bounded: beyond the bound an event is dropped (and logged).
use crate::jsvm::JsvmEvents;
use crate::support::wake_queue::{Bound, PushError, WakeQueue, Waker};

/// Script events waiting for the JavaScript thread at most.
pub const MAX_QUEUED_EVENTS: usize = 65_536;
/// Their bytes (names and data) at most.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;

/// `(name, data as JSON)`.
pub type ScriptEvent = (String, String);

fn cost(event: &ScriptEvent) -> Option<usize> {
    Some(event.0.len() + event.1.len())
}

/// The script VM's [`JsvmEvents`]: what the JavaScript side takes with `takeEvents()`.
pub struct ScriptEventQueue {
    queue: WakeQueue<ScriptEvent>,
}

impl ScriptEventQueue {
    pub fn new(waker: impl Waker) -> ScriptEventQueue {
        let bound = Bound {
            items: MAX_QUEUED_EVENTS,
            bytes: MAX_QUEUED_BYTES,
            cost,
        };
        ScriptEventQueue {
            queue: WakeQueue::new(bound, waker),
        }
    }

    /// Every waiting event, oldest first.
    pub fn take(&self) -> Vec<ScriptEvent> {
        self.queue.take_all()
    }
}

impl JsvmEvents for ScriptEventQueue {
    fn emitted(&self, name: &str, data_json: &str) {
        match self.queue.push((name.to_owned(), data_json.to_owned())) {
            Err(PushError::Full) => tracing::warn!(
                event = name,
                "jsvm: event dropped: the JavaScript thread is behind"
            ),
            // Refused only while Node exits: the events no longer matter then.
            Ok(()) | Err(PushError::Refused(_)) => {}
        }
    }
}
