//! Clustering: several engine processes share one hub over a real message
//! system (Redis pub/sub or NATS; in-process for tests). Each node keeps its
//! own connections and rooms; what crosses nodes is room messages,
//! broadcasts, direct messages, kicks, and each node's state (its clients
//! and their rooms) as ordered deltas with a sequence number, heartbeats,
//! and snapshots on request; a direct message to a client not known yet is
//! offered to every node (see `lookup`). A node not heard from within the presence TTL
//! is forgotten with its clients.
pub mod bus;
pub mod config;
pub mod directory;
pub mod envelope;
mod hub_ops;
mod inbound;
mod local;
mod lookup;
mod nats_bus;
mod redis_bus;
mod run;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

pub use bus::{Bus, BusStats};
pub use config::{BusConfig, BusKind};
use directory::{ClientState, Delta, Directory, RoomState};
use envelope::{Header, Kind};

/// Bytes of clients and rooms in one snapshot part (well under NATS's 1 MB payload).
const SNAPSHOT_PART_BYTES: usize = 256 * 1024;

pub struct Cluster {
    pub config: BusConfig,
    pub(crate) incarnation: u64,
    /// The last sequence number; held while an envelope is numbered and
    /// queued, so envelopes leave in sequence order.
    seq: Mutex<u64>,
    /// The state sequence; held while a delta is numbered and queued, so
    /// deltas leave in sequence order.
    state: Mutex<u64>,
    out: mpsc::Sender<bus::BusMessage>,
    pending: Mutex<Option<(mpsc::Receiver<bus::BusMessage>, watch::Receiver<bool>)>>,
    stop: watch::Sender<bool>,
    pub directory: RwLock<Directory>,
    pub stats: Arc<BusStats>,
    pub duplicates: AtomicU64,
    pub malformed: AtomicU64,
    pub started_at: u64,
    /// Direct messages to clients this node did not know, awaiting answers.
    lookups: lookup::Lookups,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Cluster {
    pub fn new(config: BusConfig) -> Arc<Cluster> {
        let (out, rx) = mpsc::channel(config.queue);
        let (stop, stop_rx) = watch::channel(false);
        Arc::new(Cluster {
            config,
            incarnation: crate::support::ids::random_u64(),
            seq: Mutex::new(0),
            state: Mutex::new(0),
            out,
            pending: Mutex::new(Some((rx, stop_rx))),
            stop,
            directory: RwLock::default(),
            stats: Arc::default(),
            duplicates: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            started_at: super::protocol::now_ms(),
            lookups: lookup::Lookups::default(),
            tasks: Mutex::default(),
        })
    }

    pub fn node(&self) -> &str {
        &self.config.node_id
    }

    fn bus(&self) -> Box<dyn Bus> {
        match &self.config.kind {
            BusKind::Local { group } => Box::new(local::LocalBus {
                group: group.clone(),
            }),
            BusKind::Redis { url } => Box::new(redis_bus::RedisBus {
                url: url.clone(),
                prefix: self.config.prefix.clone(),
            }),
            BusKind::Nats { url } => Box::new(nats_bus::NatsBus {
                url: url.clone(),
                prefix: self.config.prefix.clone(),
            }),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.config.kind {
            BusKind::Local { .. } => "local",
            BusKind::Redis { .. } => "redis",
            BusKind::Nats { .. } => "nats",
        }
    }

    /// Queues one envelope (numbered here); dropped and counted when the
    /// queue is full. Messages leave an eighth of the queue to state and
    /// control envelopes, so a flood of messages cannot starve presence.
    /// False when dropped.
    fn send(&self, mut header: Header, topic: String, body: &[u8]) -> bool {
        header.n = self.config.node_id.clone();
        header.i = self.incarnation;
        let message = matches!(
            header.k,
            Kind::Room | Kind::All | Kind::Direct | Kind::Find | Kind::Found
        );
        let mut seq = self.seq.lock();
        if message && self.out.capacity() <= self.config.queue / 8 {
            BusStats::add(&self.stats.publish_dropped, 1);
            return false;
        }
        *seq += 1;
        header.s = *seq;
        let payload = envelope::encode(&header, body);
        if self
            .out
            .try_send(bus::BusMessage { topic, payload })
            .is_err()
        {
            BusStats::add(&self.stats.publish_dropped, 1);
            return false;
        }
        true
    }

    /// A room message for the members of `room` on other nodes.
    pub fn room(&self, room: &str, except: Option<&str>, message: &Bytes) {
        let mut h = Header::new(Kind::Room);
        h.r = Some(room.to_owned());
        h.x = except.map(str::to_owned);
        self.send(h, bus::room_topic(room), message);
    }

    /// A message for every client on other nodes.
    pub fn all(&self, message: &Bytes) {
        self.send(Header::new(Kind::All), "all".into(), message);
    }

    /// A message for client `id` on node `node`.
    pub fn direct(&self, node: &str, id: &str, message: &Bytes) {
        let mut h = Header::new(Kind::Direct);
        h.c = Some(id.to_owned());
        self.send(h, bus::node_topic(node), message);
    }

    /// Closes client `id` on node `node`.
    pub fn kick(&self, node: &str, id: &str, code: Option<u16>, reason: &str) {
        let mut h = Header::new(Kind::Kick);
        h.c = Some(id.to_owned());
        let body = json!({ "code": code, "reason": reason }).to_string();
        self.send(h, bus::node_topic(node), body.as_bytes());
    }

    /// Publishes a change of this node's state, numbered in order.
    pub fn delta(&self, d: &Delta) {
        let body = serde_json::to_vec(d).unwrap_or_default();
        let mut ss = self.state.lock();
        *ss += 1;
        let mut h = Header::new(Kind::Delta);
        h.ss = Some(*ss);
        self.send(h, "state".into(), &body);
    }

    /// "Alive, state at `ss`": all a receiver needs to notice a gap.
    fn heartbeat(&self) {
        let ss = self.state.lock();
        let mut h = Header::new(Kind::Heartbeat);
        h.ss = Some(*ss);
        self.send(h, "state".into(), b"");
    }

    /// Asks `node` (every node when None) for its snapshot.
    fn ask_sync(&self, node: Option<&str>) {
        let topic = node.map_or_else(|| "state".to_owned(), bus::node_topic);
        self.send(Header::new(Kind::Sync), topic, b"");
    }

    /// Sends this node's whole state to `node`, in parts of about
    /// [`SNAPSHOT_PART_BYTES`]; `collect` reads it under the state lock so
    /// the parts match the sequence they carry.
    fn snapshot_to(
        &self,
        node: &str,
        collect: impl FnOnce() -> (Vec<ClientState>, Vec<RoomState>),
    ) {
        let ss = self.state.lock();
        let (clients, rooms) = collect();
        let mut parts: Vec<(Vec<ClientState>, Vec<RoomState>)> = vec![Default::default()];
        let mut size = 0;
        let mut room_iter = rooms.into_iter();
        let mut client_iter = clients.into_iter();
        loop {
            let (len, item) = match room_iter.next() {
                Some(r) => (r.id.len() + r.name.len() + 64, Ok(r)),
                None => match client_iter.next() {
                    Some(c) => {
                        let len = c.id.len()
                            + c.u.as_ref().map_or(0, String::len)
                            + c.r.iter().map(|r| r.len() + 3).sum::<usize>()
                            + 64;
                        (len, Err(c))
                    }
                    None => break,
                },
            };
            if size > 0 && size + len > SNAPSHOT_PART_BYTES {
                parts.push(Default::default());
                size = 0;
            }
            size += len;
            if let Some(last) = parts.last_mut() {
                match item {
                    Ok(r) => last.1.push(r),
                    Err(c) => last.0.push(c),
                }
            }
        }
        let count = parts.len();
        for (part, (clients, rooms)) in parts.into_iter().enumerate() {
            let snap = directory::Snapshot {
                part,
                parts: count,
                clients,
                rooms,
                started_at: self.started_at,
            };
            let mut h = Header::new(Kind::Snapshot);
            h.ss = Some(*ss);
            let body = serde_json::to_vec(&snap).unwrap_or_default();
            self.send(h, bus::node_topic(node), &body);
        }
    }

    /// Test-only: stops the bus tasks without a goodbye, as a killed process would.
    #[cfg(test)]
    pub fn vanish(&self) {
        let _ = self.stop.send(true);
    }

    fn bye(&self) {
        self.send(Header::new(Kind::Bye), "state".into(), b"");
    }

    /// `cluster` in `/api/stats`: this node, the others, the bus.
    pub fn info(&self, local_clients: usize) -> Value {
        let dir = self.directory.read();
        let mut nodes: Vec<Value> = dir
            .peers
            .iter()
            .map(|(id, p)| {
                json!({
                    "id": id,
                    "clients": p.clients.len(),
                    "rooms": p.rooms.len(),
                    "synced": p.ss.is_some(),
                    "last_seen_ms": p.last_seen.map(|t| t.elapsed().as_millis() as u64),
                    "started_at": p.started_at,
                })
            })
            .collect();
        nodes.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        let s = &self.stats;
        json!({
            "node": self.node(),
            "nodes": nodes.len() + 1,
            "clients": local_clients + dir.client_count(),
            "peers": nodes,
            "bus": {
                "type": self.kind(),
                "connected": s.is_connected(),
                "published": BusStats::get(&s.published),
                "publish_dropped": BusStats::get(&s.publish_dropped),
                "received": BusStats::get(&s.received),
                "inbound_dropped": BusStats::get(&s.inbound_dropped),
                "duplicates": self.duplicates.load(Ordering::Relaxed),
                "reconnects": BusStats::get(&s.reconnects),
                "down_ms": BusStats::get(&s.down_ms),
                "last_error": *s.last_error.lock(),
            },
            "presence_ttl_ms": self.config.presence_ttl.as_millis() as u64,
        })
    }

    /// The cluster's Prometheus series.
    pub fn render_metrics(&self, out: &mut String, local_clients: usize) {
        use crate::support::prometheus::single;
        let p = super::metrics::PREFIX;
        let s = &self.stats;
        let dir = self.directory.read();
        let gauges = [
            (
                "cluster_nodes",
                "Nodes in the cluster, this one included.",
                (dir.peers.len() + 1) as u64,
            ),
            (
                "cluster_clients",
                "Clients connected to any node of the cluster.",
                (local_clients + dir.client_count()) as u64,
            ),
            (
                "bus_connected",
                "1 while the cluster bus is connected.",
                u64::from(s.is_connected()),
            ),
        ];
        for (name, help, v) in gauges {
            single(out, &format!("{p}{name}"), "gauge", help, v);
        }
        let counters = [
            (
                "bus_published_total",
                "Envelopes published on the bus.",
                BusStats::get(&s.published),
            ),
            (
                "bus_publish_dropped_total",
                "Envelopes not published (bus down or queue full).",
                BusStats::get(&s.publish_dropped),
            ),
            (
                "bus_received_total",
                "Envelopes received from the bus.",
                BusStats::get(&s.received),
            ),
            (
                "bus_inbound_dropped_total",
                "Envelopes received but dropped (this node too slow).",
                BusStats::get(&s.inbound_dropped),
            ),
            (
                "bus_duplicates_total",
                "Envelopes dropped as already seen.",
                self.duplicates.load(Ordering::Relaxed),
            ),
            (
                "bus_reconnects_total",
                "Times the bus connection was restored.",
                BusStats::get(&s.reconnects),
            ),
            (
                "bus_down_seconds_total",
                "Time the bus was down.",
                BusStats::get(&s.down_ms) / 1000,
            ),
        ];
        for (name, help, v) in counters {
            single(out, &format!("{p}{name}"), "counter", help, v);
        }
    }
}
