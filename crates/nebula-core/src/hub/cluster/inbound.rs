//! Applying what other nodes publish: messages to local clients, kicks,
//! their state (deltas in sequence, snapshots), sync requests and goodbyes.
//! Own echoes and envelopes already seen are dropped here.
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Deserialize;

use super::bus::BusMessage;
use super::directory::{Delta, Snapshot};
use super::envelope::{self, Header, Kind};
use super::Cluster;
use crate::hub::ws::frame;
use crate::hub::Hub;

/// Sequence numbers remembered per node: envelopes on different topics may
/// arrive out of order (NATS delivers each subscription on its own), so a
/// window, not just the highest number, tells a duplicate from a late one.
const WINDOW: u64 = 1024;

/// What one node (one incarnation of it) has been seen to send.
struct Seen {
    incarnation: u64,
    max: u64,
    /// `slots[s % WINDOW] == s` once `s` was seen.
    slots: Box<[u64]>,
}

impl Seen {
    fn new(incarnation: u64) -> Seen {
        Seen {
            incarnation,
            max: 0,
            slots: vec![u64::MAX; WINDOW as usize].into_boxed_slice(),
        }
    }

    /// False for a sequence seen before, or too old to tell.
    fn first_time(&mut self, s: u64) -> bool {
        if s + WINDOW <= self.max {
            return false;
        }
        let slot = &mut self.slots[(s % WINDOW) as usize];
        if *slot == s {
            return false;
        }
        *slot = s;
        self.max = self.max.max(s);
        true
    }
}

/// Per-node windows of sequence numbers seen.
#[derive(Default)]
pub struct Inbound {
    seen: HashMap<String, Seen>,
    warned_twin: bool,
}

#[derive(Deserialize)]
struct KickBody {
    code: Option<u16>,
    #[serde(default)]
    reason: String,
}

impl Inbound {
    /// False for an echo of this node or an envelope already seen.
    fn fresh(&mut self, cluster: &Cluster, h: &Header) -> bool {
        if h.n == cluster.node() {
            if h.i != cluster.incarnation && !self.warned_twin {
                self.warned_twin = true;
                tracing::error!(node = %h.n, "hub cluster: another process uses this node id; give each node its own nodeId");
            }
            return false;
        }
        let entry = self
            .seen
            .entry(h.n.clone())
            .or_insert_with(|| Seen::new(h.i));
        if entry.incarnation != h.i {
            *entry = Seen::new(h.i);
        }
        if !entry.first_time(h.s) {
            cluster.duplicates.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    pub fn handle(&mut self, hub: &Hub, msg: BusMessage) {
        let Some(cluster) = hub.cluster.as_ref() else {
            return;
        };
        let Some((h, body)) = envelope::decode(&msg.payload) else {
            cluster.malformed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if h.k == Kind::Find && h.n == cluster.node() && h.i == cluster.incarnation {
            // Our own lookup back from the bus: what others published before
            // it has been applied, so the peers to wait for are known now.
            if let Some(token) = h.a {
                hub.lookup_echoed(token);
            }
            return;
        }
        if !self.fresh(cluster, &h) {
            return;
        }
        if h.k == Kind::Bye {
            self.seen.remove(&h.n);
            let mut dir = cluster.directory.write();
            if dir.peers.get(&h.n).is_some_and(|p| p.incarnation == h.i) {
                dir.peers.remove(&h.n);
                tracing::info!(node = %h.n, "hub cluster: node left");
            }
            return;
        }
        if !matches!(h.k, Kind::Room | Kind::All | Kind::Direct | Kind::Find) {
            // State and control envelopes (a heartbeat at least once per
            // interval) prove a node alive; messages skip the write lock.
            let first_sight = {
                let mut dir = cluster.directory.write();
                let p = dir.peer(&h.n, h.i);
                p.ss.is_none() && p.asked_at.is_none()
            };
            // A node never heard from (or restarted): ask for its state now,
            // not at its next heartbeat. A snapshot is the answer already.
            if first_sight && h.k != Kind::Snapshot {
                ask(cluster, &h.n);
            }
        }
        match h.k {
            Kind::Room => {
                if let Some(room) = &h.r {
                    hub.deliver_room_local(room, h.x.as_deref(), &frame::text(&body));
                }
            }
            Kind::All => {
                hub.deliver_all_local(&frame::text(&body));
            }
            Kind::Direct => {
                if let Some(id) = &h.c {
                    hub.deliver_client_local(id, &frame::text(&body));
                }
            }
            Kind::Kick => {
                if let (Some(id), Ok(k)) = (&h.c, serde_json::from_slice::<KickBody>(&body)) {
                    // Only a connection here: a stale directory must not bounce it on.
                    if let Some(seq) = hub.client_seq(id) {
                        hub.kick(id, Some(seq), k.code, &k.reason);
                    }
                }
            }
            Kind::Delta => {
                let Ok(d) = serde_json::from_slice::<Delta>(&body) else {
                    cluster.malformed.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                // Effects on this node's own clients and rooms apply whatever the sequence.
                match &d {
                    Delta::Connected(c) => hub.replace_if_newer(c, &h.n),
                    Delta::RoomDropped { id } => {
                        // Deleted on every node: no peer holds it any more.
                        cluster.directory.write().drop_room(id);
                        hub.drop_room_replica(id);
                    }
                    _ => {}
                }
                let behind = match h.ss {
                    Some(ss) => cluster.directory.write().peer(&h.n, h.i).offer(ss, d),
                    None => false,
                };
                if behind {
                    ask(cluster, &h.n);
                }
            }
            Kind::Heartbeat => {
                let behind = {
                    let dir = cluster.directory.read();
                    dir.peers.get(&h.n).is_none_or(|p| p.ss != h.ss)
                };
                if behind {
                    ask(cluster, &h.n);
                }
            }
            Kind::Snapshot => {
                let (Some(ss), Ok(part)) = (h.ss, serde_json::from_slice::<Snapshot>(&body)) else {
                    cluster.malformed.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let installed = {
                    let mut dir = cluster.directory.write();
                    let peer = dir.peer(&h.n, h.i);
                    // An older snapshot than what deltas already brought is stale.
                    peer.ss.is_none_or(|cur| ss >= cur) && peer.take_part(ss, part)
                };
                if installed {
                    let clients: Vec<_> = cluster
                        .directory
                        .read()
                        .peers
                        .get(&h.n)
                        .map(|p| p.clients.values().cloned().collect())
                        .unwrap_or_default();
                    for c in &clients {
                        hub.replace_if_newer(c, &h.n);
                    }
                }
            }
            Kind::Sync => {
                cluster.snapshot_to(&h.n, || hub.local_state());
            }
            Kind::Find => {
                if let Some(id) = &h.c {
                    let here = hub.client_seq(id).is_some();
                    if here {
                        hub.deliver_client_local(id, &frame::text(&body));
                    }
                    if let Some(token) = h.a {
                        cluster.found(&h.n, token, here);
                    }
                }
            }
            Kind::Found => {
                if let Some(token) = h.a {
                    hub.lookup_answer(token, &h.n, &body[..] == b"1");
                }
            }
            Kind::Bye => {}
        }
    }
}

/// Asks `node` for its snapshot, at most once per heartbeat interval.
fn ask(cluster: &Cluster, node: &str) {
    {
        let mut dir = cluster.directory.write();
        let Some(peer) = dir.peers.get_mut(node) else {
            return;
        };
        if peer
            .asked_at
            .is_some_and(|t| t.elapsed() < cluster.config.heartbeat)
        {
            return;
        }
        peer.asked_at = Some(Instant::now());
    }
    cluster.ask_sync(Some(node));
}
