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

/// The highest sequence seen per node (and incarnation).
#[derive(Default)]
pub struct Inbound {
    seen: HashMap<String, (u64, u64)>,
}

#[derive(Deserialize)]
struct KickBody {
    code: Option<u16>,
    #[serde(default)]
    reason: String,
}

/// What a delta or snapshot asks of this node once the directory is updated.
enum Effect {
    None,
    Sync,
}

impl Inbound {
    /// False for an echo of this node or an envelope already seen.
    fn fresh(&mut self, cluster: &Cluster, h: &Header) -> bool {
        if h.n == cluster.node() {
            return false;
        }
        let entry = self.seen.entry(h.n.clone()).or_insert((h.i, 0));
        if entry.0 != h.i {
            *entry = (h.i, 0);
        }
        if h.s <= entry.1 {
            cluster.duplicates.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        entry.1 = h.s;
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
        if !self.fresh(cluster, &h) {
            return;
        }
        if h.k == Kind::Bye {
            self.seen.remove(&h.n);
            if cluster.directory.write().peers.remove(&h.n).is_some() {
                tracing::info!(node = %h.n, "hub cluster: node left");
            }
            return;
        }
        // Anything from a node proves it alive.
        cluster.directory.write().peer(&h.n, h.i);
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
                    hub.kick(id, None, k.code, &k.reason);
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
                        for p in cluster.directory.write().peers.values_mut() {
                            p.rooms.remove(id);
                        }
                        hub.drop_room_replica(id);
                    }
                    _ => {}
                }
                if let Effect::Sync = apply_delta(cluster, &h, &d) {
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
            Kind::Bye => {}
        }
    }
}

fn apply_delta(cluster: &Cluster, h: &Header, d: &Delta) -> Effect {
    let Some(ss) = h.ss else {
        return Effect::None;
    };
    let mut dir = cluster.directory.write();
    let peer = dir.peer(&h.n, h.i);
    match peer.ss {
        Some(cur) if ss == cur + 1 => {
            peer.apply(d);
            peer.ss = Some(ss);
            Effect::None
        }
        // Already in the snapshot this node holds.
        Some(cur) if ss <= cur => Effect::None,
        // A gap (lost envelopes) or no snapshot yet.
        _ => Effect::Sync,
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
