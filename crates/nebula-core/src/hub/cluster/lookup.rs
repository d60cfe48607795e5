//! Direct messages to a client this node does not know (yet). The directory
//! learns another node's clients from its state deltas, which race with the
//! client's own traffic: a client acknowledged on node B a moment ago may
//! be messaged through node A before B's announcement reached A. So a miss
//! is not an answer: the message goes to every node (`Find`), the node
//! holding the client delivers it, and every node answers (`Found`). The
//! sender hears "client not found" (4000) only when every node this one
//! knows said "not here", or when no answer came within the deadline.
//!
//! Why this cannot miss a client that was acknowledged before the message
//! was sent: the holder registered the client before its 101 went out, and
//! it reads the `Find` (published after that 101, causally) from the bus
//! after it, so the client is there when the holder looks.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use super::envelope::{Header, Kind};
use super::Cluster;
use crate::hub::client::Client;
use crate::hub::protocol::{ErrorCode, HubError};
use crate::hub::Hub;

/// Most lookups waiting at once; past it a miss is answered at once.
const MAX_LOOKUPS: usize = 1024;

/// One direct message looking for its target.
struct Lookup {
    target: String,
    /// Who sent it, told if the target is nowhere.
    asker: Arc<Client>,
    request_id: u64,
    deadline: Instant,
    /// Nodes yet to answer: None until this node's own `Find` came back
    /// from the bus (then every node it knows by then is counted).
    waiting: Option<HashSet<String>>,
    /// Nodes that said "not here" before that.
    declined: HashSet<String>,
}

#[derive(Default)]
pub(super) struct Lookups {
    next: std::sync::atomic::AtomicU64,
    pending: Mutex<HashMap<u64, Lookup>>,
}

impl Cluster {
    /// How long a lookup waits for answers: two heartbeats, so a peer that
    /// is alive answers in time, within [200 ms, 5 s].
    fn lookup_wait(&self) -> Duration {
        (self.config.heartbeat * 2).clamp(Duration::from_millis(200), Duration::from_secs(5))
    }

    /// Answers `Find` `token` of `node`: whether the client was here.
    pub(super) fn found(&self, node: &str, token: u64, here: bool) {
        let mut h = Header::new(Kind::Found);
        h.a = Some(token);
        self.send(
            h,
            super::bus::node_topic(node),
            if here { b"1" } else { b"0" },
        );
    }
}

impl Hub {
    /// `asker`'s direct message `message` to `target`, a client neither
    /// here nor in the directory: offered to every node. Err (answer at once)
    /// when it cannot be: no bus connection, too many lookups, queue full.
    pub(crate) fn find_remote(
        &self,
        asker: &Arc<Client>,
        target: &str,
        message: &Bytes,
        request_id: u64,
    ) -> Result<(), HubError> {
        let not_found = || HubError::with_details(ErrorCode::ClientNotFound, target);
        let Some(cluster) = self.cluster.as_deref() else {
            return Err(not_found());
        };
        if !cluster.stats.is_connected() {
            return Err(not_found());
        }
        let lookups = &cluster.lookups;
        let token = lookups
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        {
            let mut pending = lookups.pending.lock();
            if pending.len() >= MAX_LOOKUPS {
                return Err(not_found());
            }
            // Registered before it is sent: no answer can come earlier.
            pending.insert(
                token,
                Lookup {
                    target: target.to_owned(),
                    asker: asker.clone(),
                    request_id,
                    deadline: Instant::now() + cluster.lookup_wait(),
                    waiting: None,
                    declined: HashSet::new(),
                },
            );
        }
        let mut h = Header::new(Kind::Find);
        h.c = Some(target.to_owned());
        h.a = Some(token);
        if !cluster.send(h, "all".into(), message) {
            lookups.pending.lock().remove(&token);
            return Err(not_found());
        }
        Ok(())
    }

    /// This node's own `Find` came back: everything published before it has
    /// been read, so the nodes known now are all that can answer.
    pub(super) fn lookup_echoed(&self, token: u64) {
        let Some(cluster) = self.cluster.as_deref() else {
            return;
        };
        let peers: Vec<String> = cluster.directory.read().peers.keys().cloned().collect();
        let done = {
            let mut pending = cluster.lookups.pending.lock();
            let Some(l) = pending.get_mut(&token) else {
                return;
            };
            let waiting: HashSet<String> = peers
                .into_iter()
                .filter(|p| !l.declined.contains(p))
                .collect();
            let empty = waiting.is_empty();
            l.waiting = Some(waiting);
            if empty {
                pending.remove(&token)
            } else {
                None
            }
        };
        if let Some(l) = done {
            self.lookup_failed(l);
        }
    }

    /// `node` answered lookup `token`: delivered (done) or not there.
    pub(super) fn lookup_answer(&self, token: u64, node: &str, delivered: bool) {
        let Some(cluster) = self.cluster.as_deref() else {
            return;
        };
        let done = {
            let mut pending = cluster.lookups.pending.lock();
            let Some(l) = pending.get_mut(&token) else {
                return;
            };
            if delivered {
                pending.remove(&token);
                return;
            }
            let last = match &mut l.waiting {
                Some(w) => {
                    w.remove(node);
                    w.is_empty()
                }
                None => {
                    l.declined.insert(node.to_owned());
                    false
                }
            };
            if last {
                pending.remove(&token)
            } else {
                None
            }
        };
        if let Some(l) = done {
            self.lookup_failed(l);
        }
    }

    /// Lookups past their deadline (a node that never answered): not found.
    pub(super) fn expire_lookups(&self) {
        let Some(cluster) = self.cluster.as_deref() else {
            return;
        };
        let now = Instant::now();
        let expired: Vec<Lookup> = {
            let mut pending = cluster.lookups.pending.lock();
            let tokens: Vec<u64> = pending
                .iter()
                .filter(|(_, l)| l.deadline <= now)
                .map(|(t, _)| *t)
                .collect();
            tokens
                .into_iter()
                .filter_map(|t| pending.remove(&t))
                .collect()
        };
        for l in expired {
            self.lookup_failed(l);
        }
    }

    fn lookup_failed(&self, l: Lookup) {
        let err = HubError::with_details(ErrorCode::ClientNotFound, l.target);
        self.send_error(&l.asker, &err, l.request_id);
    }
}

#[cfg(test)]
impl Cluster {
    /// Lookups still waiting (tests).
    pub(crate) fn lookups_pending(&self) -> usize {
        self.lookups.pending.lock().len()
    }
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
