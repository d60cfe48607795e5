//! Where a watch delivers changes: a bounded [`WakeQueue`] its owner drains
//! after a wake-up (the binding: one ThreadsafeFunction call per batch).
//! When the queue is full a change is dropped and the feed is marked
//! lagged; the owner then reads the store again instead of trusting the
//! changes it got (the same after a remote watch reconnects, when changes
//! may have been missed).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::wake_queue::{Bound, PushError, WakeQueue, Waker};

use super::ConfigChange;

pub struct ChangeFeed {
    queue: WakeQueue<ConfigChange>,
    lagged: AtomicBool,
}

/// What the owner takes: the changes in order, and whether some were missed.
pub struct Taken {
    pub changes: Vec<ConfigChange>,
    pub lagged: bool,
}

impl ChangeFeed {
    /// At most `items` changes whose keys and values sum to at most `bytes` wait.
    pub fn new(items: usize, bytes: usize, waker: impl Waker) -> Arc<ChangeFeed> {
        let bound = Bound {
            items,
            bytes,
            cost: |c: &ConfigChange| {
                Some(
                    c.key.len()
                        + c.value.as_ref().map_or(0, String::len)
                        + c.old.as_ref().map_or(0, String::len),
                )
            },
        };
        Arc::new(ChangeFeed {
            queue: WakeQueue::new(bound, waker),
            lagged: AtomicBool::new(false),
        })
    }

    /// Queues a change (never blocks); a full queue marks the feed lagged.
    pub fn push(&self, change: ConfigChange) {
        match self.queue.push(change) {
            Ok(()) | Err(PushError::Refused(_)) => {}
            Err(PushError::Full) => self.lagged(),
        }
    }

    /// Changes may have been missed: the owner should read the store again.
    pub fn lagged(&self) {
        self.lagged.store(true, Ordering::SeqCst);
        // Refused only while the owner goes away.
        let _ = self.queue.wake();
    }

    /// For the owner: everything queued, and whether changes were missed.
    pub fn take(&self) -> Taken {
        // The queue first (it re-arms the wake-up): a change dropped after
        // it sets the flag and wakes the owner again.
        let changes = self.queue.take_all();
        let lagged = self.lagged.swap(false, Ordering::SeqCst);
        Taken { changes, lagged }
    }
}
