//! The cluster bus: publish bytes on a topic, receive what others publish on
//! the topics this node subscribes to. Implementations (in-process, Redis,
//! NATS) run as tasks that reconnect and resubscribe by themselves; the hub
//! talks to them only through two bounded queues, so a slow or absent bus
//! never blocks a connection. Delivery is at most once.
//!
//! Topics are `.`-separated tokens: `all`, `state`, `room.<room>`,
//! `node.<node id>`. A subscription may end in `*` (one token).
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch, Notify};

/// One message on the bus.
#[derive(Debug, Clone)]
pub struct BusMessage {
    pub topic: String,
    pub payload: Bytes,
}

/// What a bus task is given: the messages to publish, where to put the
/// messages received, the topics to (re)subscribe to, and a stop signal.
pub struct BusIo {
    pub outbound: mpsc::Receiver<BusMessage>,
    pub inbound: mpsc::Sender<BusMessage>,
    pub subscriptions: Vec<String>,
    pub stats: Arc<BusStats>,
    pub stop: watch::Receiver<bool>,
    /// Silence this long on a subscription that should carry this node's
    /// own heartbeats means a dead connection: reconnect.
    pub idle: Duration,
}

/// A running bus connection.
pub type BusTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A message system the cluster can run over.
pub trait Bus: Send + Sync {
    /// `local`, `redis` or `nats`.
    fn kind(&self) -> &'static str;
    /// The task that connects, subscribes, publishes and receives until `io.stop`.
    fn run(self: Box<Self>, io: BusIo) -> BusTask;
}

/// Counters and connection state, for stats, `/metrics` and logs.
#[derive(Default)]
pub struct BusStats {
    pub connected: AtomicBool,
    /// Set once the first connection attempt ended, either way: a starting
    /// node waits for it before it serves (see `Hub::start_cluster`).
    pub settled: AtomicBool,
    /// Woken whenever `connected` or `settled` changes.
    pub changed: Notify,
    pub published: AtomicU64,
    /// Not published: the outbound queue was full or the bus was down.
    pub publish_dropped: AtomicU64,
    pub received: AtomicU64,
    /// Received but dropped: the hub's inbound queue was full (a slow node).
    pub inbound_dropped: AtomicU64,
    pub reconnects: AtomicU64,
    /// Milliseconds the bus has been down in all.
    pub down_ms: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

impl BusStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Records the bus up or down and wakes whoever waits on a change.
    pub fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::SeqCst);
        self.settled.store(true, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Waits until `cond` holds, re-checked at every change; false after `limit`.
    pub async fn wait_for(&self, limit: Duration, cond: impl Fn(&BusStats) -> bool) -> bool {
        let until = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                // Registered before the check, so a change in between is not missed.
                changed.as_mut().enable();
                if cond(self) {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(limit, until).await.is_ok()
    }
}

/// Hands a received message to the hub without waiting: when the hub's
/// queue is full the message is dropped and counted.
pub fn take_in(io_inbound: &mpsc::Sender<BusMessage>, stats: &BusStats, msg: BusMessage) {
    BusStats::add(&stats.received, 1);
    if io_inbound.try_send(msg).is_err() {
        BusStats::add(&stats.inbound_dropped, 1);
    }
}

/// Tracks the bus going down and up again: logs each change once, counts
/// reconnections and the time spent down.
pub struct Link {
    name: &'static str,
    stats: Arc<BusStats>,
    down_since: Option<std::time::Instant>,
    was_up: bool,
    told: bool,
}

impl Link {
    pub fn new(name: &'static str, stats: Arc<BusStats>) -> Link {
        Link {
            name,
            stats,
            down_since: Some(std::time::Instant::now()),
            was_up: false,
            told: false,
        }
    }

    pub fn up(&mut self) {
        if let Some(since) = self.down_since.take() {
            let gap = since.elapsed();
            if self.was_up {
                BusStats::add(&self.stats.reconnects, 1);
                BusStats::add(&self.stats.down_ms, gap.as_millis() as u64);
                tracing::warn!(bus = self.name, down_ms = gap.as_millis() as u64, "hub cluster: bus connection restored; cross-node messages sent meanwhile were lost");
            } else {
                tracing::info!(bus = self.name, "hub cluster: bus connected");
            }
        }
        self.was_up = true;
        self.stats.set_connected(true);
    }

    pub fn down(&mut self, error: &str) {
        if self.down_since.is_none() {
            self.down_since = Some(std::time::Instant::now());
            tracing::warn!(
                bus = self.name,
                error,
                "hub cluster: bus connection lost; delivering locally only until it is back"
            );
        } else if !self.was_up && !self.told {
            // Never connected yet: said once, not at every retry.
            self.told = true;
            tracing::warn!(
                bus = self.name,
                error,
                "hub cluster: cannot reach the bus yet; delivering locally only, retrying"
            );
        }
        *self.stats.last_error.lock() = Some(error.to_owned());
        self.stats.set_connected(false);
    }
}

/// Backoff between reconnection attempts: 100 ms doubling up to 2 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(5)).min(2000))
}

/// Waits `d`, or less when stopping; true when stopping.
pub async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// A room id as one topic token: `[A-Za-z0-9_-]` as is, any other byte as
/// `~XX` (hex), so ids with dots, spaces or wildcards stay one token.
pub fn encode_token(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("~{b:02X}"));
        }
    }
    out
}

pub fn room_topic(room: &str) -> String {
    format!("room.{}", encode_token(room))
}

pub fn node_topic(node: &str) -> String {
    format!("node.{node}")
}

/// Whether `topic` matches subscription `sub` (a trailing `*` is one token).
pub fn matches(sub: &str, topic: &str) -> bool {
    match sub.strip_suffix('*') {
        Some(prefix) => {
            topic.len() > prefix.len()
                && topic.starts_with(prefix)
                && !topic[prefix.len()..].contains('.')
        }
        None => sub == topic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids_become_one_token() {
        assert_eq!(room_topic("lobby"), "room.lobby");
        assert_eq!(room_topic("a.b c*>~"), "room.a~2Eb~20c~2A~3E~7E");
        assert_eq!(room_topic("é"), "room.~C3~A9");
        assert!(matches("room.*", &room_topic("a.b")));
    }

    #[test]
    fn wildcards_match_one_token() {
        assert!(matches("room.*", "room.x"));
        assert!(!matches("room.*", "room."));
        assert!(!matches("room.*", "room.x.y"));
        assert!(!matches("room.*", "all"));
        assert!(matches("node.n1", "node.n1"));
        assert!(!matches("node.n1", "node.n2"));
    }

    #[test]
    fn backoff_grows_to_two_seconds() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(30), Duration::from_secs(2));
    }
}
