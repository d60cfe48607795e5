//! What this node knows of the others: their clients (id, rooms) and rooms,
//! kept from their state deltas, heartbeats and snapshots. A peer not heard
//! from within the presence TTL is forgotten with its clients.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A client as other nodes see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClientState {
    pub id: String,
    /// Connection number on its node.
    pub q: u64,
    #[serde(default)]
    pub u: Option<String>,
    #[serde(default)]
    pub a: bool,
    /// Connected at (ms since the epoch).
    pub t: u64,
    #[serde(default)]
    pub r: BTreeSet<String>,
}

/// A room a node holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoomState {
    pub id: String,
    pub name: String,
    pub max: usize,
    pub t: u64,
}

/// One change of a node's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op")]
pub enum Delta {
    #[serde(rename = "conn")]
    Connected(ClientState),
    #[serde(rename = "disc")]
    Disconnected { id: String, q: u64 },
    #[serde(rename = "join")]
    Joined { id: String, q: u64, room: String },
    #[serde(rename = "leave")]
    Left { id: String, q: u64, room: String },
    #[serde(rename = "room")]
    RoomCreated(RoomState),
    #[serde(rename = "unroom")]
    RoomDropped { id: String },
}

/// One part of a node's state (large states are sent in parts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub part: usize,
    pub parts: usize,
    pub clients: Vec<ClientState>,
    #[serde(default)]
    pub rooms: Vec<RoomState>,
    pub started_at: u64,
}

#[derive(Default)]
pub struct Peer {
    pub incarnation: u64,
    pub last_seen: Option<Instant>,
    /// The state sequence applied; None until a snapshot arrived.
    pub ss: Option<u64>,
    pub asked_at: Option<Instant>,
    pub started_at: u64,
    pub clients: HashMap<String, ClientState>,
    pub rooms: HashMap<String, RoomState>,
    pub room_counts: HashMap<String, usize>,
    /// A snapshot being received: (its ss, parts so far).
    pending: Option<(u64, Vec<Option<Snapshot>>)>,
    /// Deltas ahead of the applied sequence (arrived early or before the
    /// snapshot they follow), applied once the sequence reaches them.
    held: BTreeMap<u64, Delta>,
}

/// Most deltas held per peer while waiting for a gap to fill.
const MAX_HELD: usize = 4096;
/// Most parts a snapshot may announce.
const MAX_PARTS: usize = 10_000;

impl Peer {
    fn count(&mut self, room: &str, up: bool) {
        let n = self.room_counts.entry(room.to_owned()).or_default();
        if up {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.room_counts.remove(room);
            }
        }
    }

    fn remove_client(&mut self, id: &str) -> Option<ClientState> {
        let c = self.clients.remove(id)?;
        for r in &c.r {
            self.count(r, false);
        }
        Some(c)
    }

    /// Applies one delta (the caller checked the sequence).
    pub fn apply(&mut self, d: &Delta) {
        match d {
            Delta::Connected(c) => {
                self.remove_client(&c.id);
                for r in &c.r {
                    self.count(r, true);
                }
                self.clients.insert(c.id.clone(), c.clone());
            }
            Delta::Disconnected { id, q } => {
                if self.clients.get(id).is_some_and(|c| c.q == *q) {
                    self.remove_client(id);
                }
            }
            Delta::Joined { id, q, room } => {
                let added = match self.clients.get_mut(id) {
                    Some(c) if c.q == *q => c.r.insert(room.clone()),
                    _ => false,
                };
                if added {
                    self.count(room, true);
                }
            }
            Delta::Left { id, q, room } => {
                let removed = match self.clients.get_mut(id) {
                    Some(c) if c.q == *q => c.r.remove(room),
                    _ => false,
                };
                if removed {
                    self.count(room, false);
                }
            }
            Delta::RoomCreated(r) => {
                self.rooms.insert(r.id.clone(), r.clone());
            }
            Delta::RoomDropped { id } => self.drop_room(id),
        }
    }

    /// Room `id` is gone on every node: no client of this peer is in it.
    pub fn drop_room(&mut self, id: &str) {
        self.rooms.remove(id);
        self.room_counts.remove(id);
        for c in self.clients.values_mut() {
            c.r.remove(id);
        }
    }

    /// Takes delta `ss`: applied when it is next in sequence (with any held
    /// ones that follow), ignored when already applied, else held. True when
    /// the peer's state is behind (a gap, or no snapshot yet): ask for a snapshot.
    ///
    /// A held delta is applied at once too, provisionally: a new peer's
    /// first client is known from its announcement, not one snapshot round
    /// trip later. Deltas are idempotent (each sets a client's or room's
    /// state, checked against the connection number), so applying them again
    /// in order once the gap fills, or the snapshot replacing them, corrects
    /// whatever the early application got wrong.
    pub fn offer(&mut self, ss: u64, d: Delta) -> bool {
        match self.ss {
            Some(cur) if ss <= cur => false,
            Some(cur) if ss == cur + 1 => {
                self.apply(&d);
                self.ss = Some(ss);
                self.catch_up();
                false
            }
            _ => {
                self.apply(&d);
                if self.held.len() < MAX_HELD {
                    self.held.insert(ss, d);
                }
                true
            }
        }
    }

    /// Applies held deltas that now follow the applied sequence; drops older ones.
    fn catch_up(&mut self) {
        let Some(mut cur) = self.ss else { return };
        self.held = self.held.split_off(&(cur + 1));
        while let Some(d) = self.held.remove(&(cur + 1)) {
            self.apply(&d);
            cur += 1;
        }
        self.ss = Some(cur);
    }

    /// Takes one snapshot part; true when the snapshot is complete and installed.
    pub fn take_part(&mut self, ss: u64, part: Snapshot) -> bool {
        if part.parts == 0 || part.part >= part.parts || part.parts > MAX_PARTS {
            return false;
        }
        let fresh =
            !matches!(&self.pending, Some((s, parts)) if *s == ss && parts.len() == part.parts);
        if fresh {
            self.pending = Some((ss, vec![None; part.parts]));
        }
        let Some((_, parts)) = self.pending.as_mut() else {
            return false;
        };
        let i = part.part;
        parts[i] = Some(part);
        if parts.iter().any(Option::is_none) {
            return false;
        }
        let Some((_, parts)) = self.pending.take() else {
            return false;
        };
        self.clients.clear();
        self.rooms.clear();
        self.room_counts.clear();
        for p in parts.into_iter().flatten() {
            self.started_at = p.started_at;
            for r in p.rooms {
                self.rooms.insert(r.id.clone(), r);
            }
            for c in p.clients {
                for r in &c.r {
                    self.count(r, true);
                }
                self.clients.insert(c.id.clone(), c);
            }
        }
        self.ss = Some(ss);
        self.catch_up();
        // Deltas still past a gap were applied provisionally before the
        // snapshot replaced everything: again, so they stay visible.
        let ahead: Vec<Delta> = self.held.values().cloned().collect();
        for d in &ahead {
            self.apply(d);
        }
        true
    }
}

/// Every other node this node has heard from.
#[derive(Default)]
pub struct Directory {
    pub peers: HashMap<String, Peer>,
}

/// Where a remote client is: its node and what that node said of it.
pub struct Located<'a> {
    pub node: &'a str,
    pub client: &'a ClientState,
}

impl Directory {
    /// The peer `node`, made fresh when it restarted (another incarnation).
    pub fn peer(&mut self, node: &str, incarnation: u64) -> &mut Peer {
        let p = self.peers.entry(node.to_owned()).or_default();
        if p.incarnation != incarnation {
            *p = Peer {
                incarnation,
                ..Peer::default()
            };
        }
        p.last_seen = Some(Instant::now());
        p
    }

    /// Forgets peers silent for longer than `ttl`; returns their ids.
    pub fn expire(&mut self, ttl: Duration) -> Vec<String> {
        let gone: Vec<String> = self
            .peers
            .iter()
            .filter(|(_, p)| p.last_seen.is_none_or(|t| t.elapsed() > ttl))
            .map(|(n, _)| n.clone())
            .collect();
        for n in &gone {
            self.peers.remove(n);
        }
        gone
    }

    /// The newest connection of client `id` on another node.
    pub fn locate(&self, id: &str) -> Option<Located<'_>> {
        self.peers
            .iter()
            .filter_map(|(n, p)| p.clients.get(id).map(|c| Located { node: n, client: c }))
            .max_by(|a, b| (a.client.t, a.node).cmp(&(b.client.t, b.node)))
    }

    /// Members of `room` on other nodes.
    pub fn room_members(&self, room: &str) -> usize {
        self.peers
            .values()
            .map(|p| p.room_counts.get(room).copied().unwrap_or(0))
            .sum()
    }

    /// Room `id` was deleted on every node.
    pub fn drop_room(&mut self, id: &str) {
        for p in self.peers.values_mut() {
            p.drop_room(id);
        }
    }

    /// A room some other node holds (for a replica here), if any.
    pub fn room(&self, id: &str) -> Option<&RoomState> {
        self.peers.values().find_map(|p| p.rooms.get(id))
    }

    pub fn client_count(&self) -> usize {
        self.peers.values().map(|p| p.clients.len()).sum()
    }

    /// Remote member ids of `room`.
    pub fn member_ids(&self, room: &str) -> Vec<String> {
        self.peers
            .values()
            .flat_map(|p| p.clients.values())
            .filter(|c| c.r.contains(room))
            .map(|c| c.id.clone())
            .collect()
    }

    /// Every remote client as `/api/clients` lists them, with its node.
    pub fn clients_info(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for (node, p) in &self.peers {
            for c in p.clients.values() {
                out.push(json!({
                    "id": c.id,
                    "username": c.u,
                    "anonymous": c.a,
                    "rooms": c.r,
                    "connected_at": c.t,
                    "node": node,
                }));
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "directory_tests.rs"]
mod tests;
