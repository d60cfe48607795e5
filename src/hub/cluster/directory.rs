//! What this node knows of the others: their clients (id, rooms) and rooms,
//! kept from their state deltas, heartbeats and snapshots. A peer not heard
//! from within the presence TTL is forgotten with its clients.
use std::collections::{BTreeSet, HashMap};
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    pub clients: usize,
    pub started_at: u64,
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
}

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
            Delta::RoomDropped { id } => {
                self.rooms.remove(id);
            }
        }
    }

    /// Takes one snapshot part; true when the snapshot is complete and installed.
    pub fn take_part(&mut self, ss: u64, part: Snapshot) -> bool {
        if part.parts == 0 || part.part >= part.parts || part.parts > 100_000 {
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
mod tests {
    use super::*;

    fn client(id: &str, q: u64, rooms: &[&str]) -> ClientState {
        ClientState {
            id: id.into(),
            q,
            u: None,
            a: false,
            t: q,
            r: rooms.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn deltas_keep_room_counts() {
        let mut p = Peer::default();
        p.apply(&Delta::Connected(client("a", 1, &[])));
        p.apply(&Delta::Joined {
            id: "a".into(),
            q: 1,
            room: "r".into(),
        });
        p.apply(&Delta::Joined {
            id: "a".into(),
            q: 1,
            room: "r".into(),
        });
        p.apply(&Delta::Connected(client("b", 2, &["r"])));
        assert_eq!(p.room_counts["r"], 2);
        // A stale connection's events change nothing.
        p.apply(&Delta::Left {
            id: "a".into(),
            q: 9,
            room: "r".into(),
        });
        assert_eq!(p.room_counts["r"], 2);
        p.apply(&Delta::Disconnected {
            id: "b".into(),
            q: 2,
        });
        p.apply(&Delta::Left {
            id: "a".into(),
            q: 1,
            room: "r".into(),
        });
        assert!(p.room_counts.get("r").is_none());
        assert_eq!(p.clients.len(), 1);
    }

    #[test]
    fn a_snapshot_installs_when_every_part_arrived() {
        let mut p = Peer::default();
        p.apply(&Delta::Connected(client("old", 1, &["x"])));
        let part = |i, clients| Snapshot {
            part: i,
            parts: 2,
            clients,
            rooms: vec![],
            started_at: 5,
        };
        assert!(!p.take_part(10, part(1, vec![client("b", 2, &["r"])])));
        assert_eq!(p.ss, None);
        assert!(p.take_part(10, part(0, vec![client("a", 1, &["r"])])));
        assert_eq!(p.ss, Some(10));
        assert_eq!(p.room_counts["r"], 2);
        assert!(!p.clients.contains_key("old"));
    }

    #[test]
    fn silent_peers_expire_and_restarts_start_afresh() {
        let mut d = Directory::default();
        d.peer("n1", 1)
            .apply(&Delta::Connected(client("a", 1, &["r"])));
        assert_eq!(d.locate("a").unwrap().node, "n1");
        assert_eq!(d.room_members("r"), 1);
        assert!(d.peer("n1", 2).clients.is_empty());
        d.peer("n1", 2).last_seen = Some(Instant::now() - Duration::from_secs(10));
        assert_eq!(d.expire(Duration::from_secs(5)), vec!["n1".to_string()]);
        assert!(d.peers.is_empty());
    }
}
