//! The hub's events on their way to the JavaScript thread (connections,
//! rooms, custom messages for `engine.hub.on(type, …)`), queued in a
//! [`WakeQueue`] and taken in batches after one wake-up, as requests are.
//!
//! Backpressure: custom messages waiting for the JavaScript thread are
//! bounded in all and per connection, and by their bytes; beyond, the sender
//! gets 1005 (try again). Lifecycle events (connect, disconnect, join, leave)
//! are never dropped: connections and rooms bound them.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::hub::{Client, ErrorCode, HubError, HubEvents};
use crate::support::wake_queue::{Bound, PushError, WakeQueue, Waker};

/// Custom messages waiting for the JavaScript thread, in all.
pub const MAX_QUEUED_MESSAGES: usize = 65_536;
/// Their bytes (the messages' data), in all.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;
/// Messages of one connection waiting for their handler.
pub const MAX_WAITING_PER_CLIENT: u32 = 64;

pub enum HubEvent {
    Connect {
        id: String,
        seq: u64,
        /// The client's identity and address, as JSON.
        info: String,
    },
    Disconnect {
        id: String,
        seq: u64,
        code: u16,
        reason: String,
    },
    Join {
        id: String,
        seq: u64,
        room: String,
    },
    Leave {
        id: String,
        seq: u64,
        room: String,
    },
    Message {
        client: Arc<Client>,
        kind: String,
        /// Raw JSON.
        data: String,
        message_id: u64,
    },
}

/// Only custom messages count against the bound: their data's bytes.
fn cost(event: &HubEvent) -> Option<usize> {
    match event {
        HubEvent::Message { data, .. } => Some(data.len()),
        _ => None,
    }
}

/// The hub's [`HubEvents`]: what the JavaScript side takes with `takeEvents()`.
pub struct HubEventQueue {
    queue: WakeQueue<HubEvent>,
    /// Custom messages refused because a queue was full.
    refused: AtomicU64,
}

impl HubEventQueue {
    pub fn new(waker: impl Waker) -> HubEventQueue {
        let bound = Bound {
            items: MAX_QUEUED_MESSAGES,
            bytes: MAX_QUEUED_BYTES,
            cost,
        };
        HubEventQueue {
            queue: WakeQueue::new(bound, waker),
            refused: AtomicU64::new(0),
        }
    }

    /// Every waiting event, oldest first; their messages no longer count as
    /// waiting for their connections.
    pub fn take(&self) -> Vec<HubEvent> {
        let events = self.queue.take_all();
        for e in &events {
            if let HubEvent::Message { client, .. } = e {
                client.waiting.fetch_sub(1, Ordering::Relaxed);
            }
        }
        events
    }

    /// Custom messages refused so far (the hub's `refused_for_js` counter).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn lifecycle(&self, event: HubEvent) {
        // Never full (not counted); refused only while Node exits: the events no longer matter then.
        let _ = self.queue.push(event);
    }

    fn refuse(&self) -> Result<(), HubError> {
        self.refused.fetch_add(1, Ordering::Relaxed);
        Err(HubError::with_details(
            ErrorCode::RateLimited,
            "too many messages waiting for their handler, try again",
        ))
    }
}

impl HubEvents for HubEventQueue {
    fn connected(&self, c: &Client) {
        let i = &c.identity;
        let info = json!({
            "username": i.username,
            "anonymous": i.anonymous,
            "permissions": i.permissions,
            "claims": i.claims,
            "remoteAddr": c.remote.map(|a| a.to_string()),
            "connectedAt": c.connected_at,
        });
        self.lifecycle(HubEvent::Connect {
            id: i.id.clone(),
            seq: c.seq,
            info: info.to_string(),
        });
    }

    fn disconnected(&self, c: &Client, code: u16, reason: &str) {
        self.lifecycle(HubEvent::Disconnect {
            id: c.id().to_owned(),
            seq: c.seq,
            code,
            reason: reason.to_owned(),
        });
    }

    fn joined(&self, c: &Client, room: &str) {
        self.lifecycle(HubEvent::Join {
            id: c.id().to_owned(),
            seq: c.seq,
            room: room.to_owned(),
        });
    }

    fn left(&self, c: &Client, room: &str) {
        self.lifecycle(HubEvent::Leave {
            id: c.id().to_owned(),
            seq: c.seq,
            room: room.to_owned(),
        });
    }

    fn message(
        &self,
        c: &Arc<Client>,
        kind: &str,
        data: &str,
        message_id: u64,
    ) -> Result<(), HubError> {
        // Counted before it is queued: a take (which counts it back) cannot come first.
        if c.waiting.fetch_add(1, Ordering::Relaxed) >= MAX_WAITING_PER_CLIENT {
            c.waiting.fetch_sub(1, Ordering::Relaxed);
            return self.refuse();
        }
        let event = HubEvent::Message {
            client: c.clone(),
            kind: kind.to_owned(),
            data: data.to_owned(),
            message_id,
        };
        match self.queue.push(event) {
            Err(PushError::Full) => {
                c.waiting.fetch_sub(1, Ordering::Relaxed);
                self.refuse()
            }
            // Refused only while Node exits: the events no longer matter then.
            Ok(()) | Err(PushError::Refused(_)) => Ok(()),
        }
    }
}
