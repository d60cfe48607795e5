//! A queue its owner drains in batches after a wake-up: requests, hub events
//! and script events wait here for the JavaScript thread.
//!
//! - **One wake-up on its way.** A push wakes the owner only when no wake-up
//!   is already on its way; everything queued before the owner takes the
//!   queue rides on that one. Taking re-arms it (first thing, before the
//!   lock), so an item queued during or after a take wakes the owner again:
//!   no item is left waiting without a wake-up.
//! - **Bounded.** Items with a cost (see [`Bound`]) count against a number
//!   and a byte limit; beyond them a push is refused ([`PushError::Full`])
//!   and the item is handed back to nobody. Items without a cost always go
//!   in (the hub's lifecycle events: connections and rooms bound them).
//! - **Batches.** The owner takes everything, or as much as fits a budget.
//!
//! The waker is the owner's: the binding calls a napi ThreadsafeFunction, a
//! test a closure. It may refuse (Node is exiting); the push then reports it
//! and the next push tries again.
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

/// Why the owner could not be woken (e.g. the JavaScript thread is closing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeRefused(pub String);

impl std::fmt::Display for WakeRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Wakes a queue's owner, which then takes the queue. Must not block.
pub trait Waker: Send + Sync + 'static {
    fn wake(&self) -> Result<(), WakeRefused>;
}

impl<F> Waker for F
where
    F: Fn() -> Result<(), WakeRefused> + Send + Sync + 'static,
{
    fn wake(&self) -> Result<(), WakeRefused> {
        self()
    }
}

/// Why a push did not end with a wake-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The queue is full: the item was not queued.
    Full,
    /// The item is queued, but the owner refused the wake-up.
    Refused(WakeRefused),
}

/// How much may wait: at most `items` items with a cost, whose costs (bytes)
/// sum to at most `bytes`. `cost` gives an item's cost; `None` leaves it out
/// of the count (always queued).
pub struct Bound<T> {
    pub items: usize,
    pub bytes: usize,
    pub cost: fn(&T) -> Option<usize>,
}

impl<T> Bound<T> {
    /// Every item goes in.
    pub fn none() -> Bound<T> {
        Bound {
            items: usize::MAX,
            bytes: usize::MAX,
            cost: |_| None,
        }
    }
}

struct Queued<T> {
    items: Vec<T>,
    /// Items with a cost, and the sum of their costs.
    counted: usize,
    bytes: usize,
}

impl<T> Queued<T> {
    fn take_all(&mut self) -> Vec<T> {
        self.counted = 0;
        self.bytes = 0;
        std::mem::take(&mut self.items)
    }
}

pub struct WakeQueue<T> {
    queued: Mutex<Queued<T>>,
    bound: Bound<T>,
    /// A wake-up is on its way (cleared when the owner takes the queue).
    scheduled: AtomicBool,
    waker: Box<dyn Waker>,
}

impl<T> WakeQueue<T> {
    pub fn new(bound: Bound<T>, waker: impl Waker) -> WakeQueue<T> {
        WakeQueue {
            queued: Mutex::new(Queued {
                items: Vec::new(),
                counted: 0,
                bytes: 0,
            }),
            bound,
            scheduled: AtomicBool::new(false),
            waker: Box::new(waker),
        }
    }

    /// Queues `item` and wakes the owner unless a wake-up is on its way.
    pub fn push(&self, item: T) -> Result<(), PushError> {
        self.enqueue(item)?;
        self.wake().map_err(PushError::Refused)
    }

    /// Queues `item` without waking the owner: the caller wakes it later
    /// ([`WakeQueue::wake`]), e.g. once a round of items has queued.
    pub fn enqueue(&self, item: T) -> Result<(), PushError> {
        let cost = (self.bound.cost)(&item);
        let mut q = self.queued.lock();
        if let Some(size) = cost {
            if q.counted >= self.bound.items || q.bytes.saturating_add(size) > self.bound.bytes {
                return Err(PushError::Full);
            }
            q.counted += 1;
            q.bytes += size;
        }
        q.items.push(item);
        Ok(())
    }

    /// Wakes the owner unless a wake-up is on its way. When the owner
    /// refuses, the next call tries again.
    pub fn wake(&self) -> Result<(), WakeRefused> {
        if self.scheduled.swap(true, Ordering::SeqCst) {
            return Ok(()); // the wake-up on its way takes what is queued too
        }
        self.waker.wake().inspect_err(|_| {
            self.scheduled.store(false, Ordering::SeqCst);
        })
    }

    /// For the owner: everything queued. Anything queued from now on wakes it again.
    pub fn take_all(&self) -> Vec<T> {
        // Re-armed first: an item queued after this line schedules a new wake-up.
        self.scheduled.store(false, Ordering::SeqCst);
        self.queued.lock().take_all()
    }

    /// For the owner: the oldest items whose sizes sum to at most `budget`
    /// (at least one). When items are left, a new wake-up is on its way for them.
    pub fn take_within(&self, budget: usize, size: impl Fn(&T) -> usize) -> Vec<T> {
        self.scheduled.store(false, Ordering::SeqCst);
        let mut q = self.queued.lock();
        let mut sum = 0usize;
        let fit = q
            .items
            .iter()
            .position(|item| {
                sum = sum.saturating_add(size(item));
                sum > budget
            })
            .map_or(q.items.len(), |n| n.max(1));
        if fit == q.items.len() {
            return q.take_all();
        }
        let taken: Vec<T> = q.items.drain(..fit).collect();
        for item in &taken {
            if let Some(cost) = (self.bound.cost)(item) {
                q.counted -= 1;
                q.bytes -= cost;
            }
        }
        drop(q);
        // Refused only while the owner goes away: the items no longer matter then.
        let _ = self.wake();
        taken
    }

    /// How many items wait.
    pub fn len(&self) -> usize {
        self.queued.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
