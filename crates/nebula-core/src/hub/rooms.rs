//! Rooms: created by the server (SDK or admin API), joined and left by
//! clients, `max_clients` enforced (0 = unlimited).
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::client::Client;
use super::cluster::directory::{Delta, RoomState};
use super::metrics::HubMetrics;
use super::protocol::{self, ErrorCode, HubError};
use super::state::Hub;
use super::ws::frame;

/// Longest room id (bytes).
pub const MAX_ROOM_ID_LEN: usize = 128;

pub struct Room {
    pub name: String,
    pub max_clients: usize,
    pub members: HashMap<Arc<str>, Arc<Client>>,
    pub created_at: u64,
}

/// A room only another node holds, as `rooms()` reports it.
fn remote_info(r: &RoomState) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "max_clients": r.max,
        "clients": 0,
        "created_at": r.t,
    })
}

impl Room {
    fn info(&self, id: &str) -> Value {
        json!({
            "id": id,
            "name": self.name,
            "max_clients": self.max_clients,
            "clients": self.members.len(),
            "created_at": self.created_at,
        })
    }
}

/// Whether `id` can name a room. Checked before any lookup too, so a
/// client's oversized id is refused as such and never echoed back in an error.
pub(super) fn check_room_id(id: &str) -> Result<(), HubError> {
    if id.is_empty() || id.len() > MAX_ROOM_ID_LEN || id.chars().any(char::is_control) {
        return Err(HubError::with_details(
            ErrorCode::InvalidFormat,
            format!("a room id is 1 to {MAX_ROOM_ID_LEN} printable characters"),
        ));
    }
    Ok(())
}

impl Hub {
    /// Creates room `id` (3001 if it exists on this node). In a cluster each
    /// node holds its own copy, so every node may create the same rooms at start.
    pub fn create_room(
        &self,
        id: &str,
        name: Option<&str>,
        max_clients: usize,
    ) -> Result<Value, HubError> {
        check_room_id(id)?;
        let mut rooms = self.rooms.write();
        if rooms.contains_key(id) {
            return Err(HubError::with_details(ErrorCode::RoomExists, id));
        }
        let room = Room {
            name: name.unwrap_or(id).to_owned(),
            max_clients,
            members: HashMap::new(),
            created_at: protocol::now_ms(),
        };
        let info = room.info(id);
        let created_at = room.created_at;
        rooms.insert(Arc::from(id), room);
        drop(rooms);
        self.publish_delta(|| {
            Delta::RoomCreated(RoomState {
                id: id.to_owned(),
                name: name.unwrap_or(id).to_owned(),
                max: max_clients,
                t: created_at,
            })
        });
        Ok(info)
    }

    /// Deletes room `id` on every node; its members leave it (3000 if no node has it).
    pub fn delete_room(&self, id: &str) -> Result<(), HubError> {
        let here = self.delete_room_here(id);
        let elsewhere = self
            .cluster
            .as_ref()
            .is_some_and(|c| c.directory.read().room(id).is_some());
        if here.is_ok() || elsewhere {
            self.publish_delta(|| Delta::RoomDropped { id: id.to_owned() });
            if let Some(c) = &self.cluster {
                c.directory.write().drop_room(id);
            }
            return Ok(());
        }
        here
    }

    /// Deletes this node's room `id`; its members leave it.
    pub(super) fn delete_room_here(&self, id: &str) -> Result<(), HubError> {
        let room = {
            let mut rooms = self.rooms.write();
            let room = rooms
                .remove(id)
                .ok_or_else(|| HubError::with_details(ErrorCode::RoomNotFound, id))?;
            // Under the lock: a room recreated with this id right after must
            // not lose its new members from their room sets.
            for member in room.members.values() {
                member.rooms.lock().remove(id);
            }
            room
        };
        for member in room.members.values() {
            HubMetrics::inc(&self.metrics.room_leaves);
            self.events().left(member, id);
        }
        Ok(())
    }

    /// Every room, sorted by id. In a cluster: the rooms of every node,
    /// `clients` counting members on every node.
    pub fn rooms_info(&self) -> Vec<Value> {
        let mut out: std::collections::BTreeMap<String, Value> = self
            .rooms
            .read()
            .iter()
            .map(|(id, r)| (id.to_string(), r.info(id)))
            .collect();
        if let Some(c) = &self.cluster {
            let dir = c.directory.read();
            for r in dir.peers.values().flat_map(|p| p.rooms.values()) {
                out.entry(r.id.clone()).or_insert_with(|| remote_info(r));
            }
            for (id, info) in out.iter_mut() {
                let local = info["clients"].as_u64().unwrap_or(0);
                info["clients"] = Value::from(local + dir.room_members(id) as u64);
            }
        }
        out.into_values().collect()
    }

    /// One room's details including its member ids (of every node).
    pub fn room_info(&self, id: &str) -> Option<Value> {
        let (mut info, mut members) = {
            let rooms = self.rooms.read();
            match rooms.get(id) {
                Some(r) => (
                    Some(r.info(id)),
                    r.members.keys().map(|k| k.to_string()).collect(),
                ),
                None => (None, Vec::new()),
            }
        };
        if let Some(c) = &self.cluster {
            let dir = c.directory.read();
            if info.is_none() {
                info = dir.room(id).map(remote_info);
            }
            members.extend(dir.member_ids(id));
        }
        let mut info = info?;
        members.sort_unstable();
        members.dedup();
        info["clients"] = Value::from(members.len());
        info["members"] = json!(members);
        Some(info)
    }

    /// `client` joins room `id`.
    pub fn join(&self, client: &Arc<Client>, id: &str) -> Result<(), HubError> {
        check_room_id(id)?;
        let mut copied = None;
        let joined: Result<(), HubError> = 'join: {
            // Held across the check and the insert (order: clients, rooms, a
            // client's rooms): a newer connection with this id cannot slip in
            // between and leave this one behind as a member.
            let clients = self.clients.read();
            if clients.get(client.id()).map(|c| c.seq) != Some(client.seq) {
                return Err(HubError::with_details(
                    ErrorCode::ClientOffline,
                    client.id(),
                ));
            }
            let mut rooms = self.rooms.write();
            // Clients of every node count toward max_clients (as far as this node knows).
            let (elsewhere, replica) = match &self.cluster {
                Some(c) => {
                    let dir = c.directory.read();
                    (dir.room_members(id), dir.room(id).cloned())
                }
                None => (0, None),
            };
            if !rooms.contains_key(id) {
                // A room another node holds: this node takes a copy (and says so).
                if let Some(r) = replica {
                    rooms.insert(
                        Arc::from(id),
                        Room {
                            name: r.name.clone(),
                            max_clients: r.max,
                            members: HashMap::new(),
                            created_at: r.t,
                        },
                    );
                    copied = Some(r);
                }
            }
            let room = rooms
                .get_mut(id)
                .ok_or_else(|| HubError::with_details(ErrorCode::RoomNotFound, id))?;
            if room
                .members
                .get(client.id())
                .is_some_and(|m| m.seq == client.seq)
            {
                break 'join Err(HubError::with_details(ErrorCode::AlreadyInRoom, id));
            }
            // A member with this id but another connection is a leftover: replaced.
            let stale = room.members.contains_key(client.id());
            if !stale && room.max_clients > 0 && room.members.len() + elsewhere >= room.max_clients
            {
                break 'join Err(HubError::with_details(
                    ErrorCode::RoomFull,
                    format!("{id} holds at most {} clients", room.max_clients),
                ));
            }
            room.members.insert(Arc::from(client.id()), client.clone());
            client.rooms.lock().insert(Arc::from(id));
            Ok(())
        };
        if let Some(r) = copied {
            self.publish_delta(|| Delta::RoomCreated(r));
        }
        joined?;
        self.publish_delta(|| Delta::Joined {
            id: client.id().to_owned(),
            q: client.seq,
            room: id.to_owned(),
        });
        HubMetrics::inc(&self.metrics.room_joins);
        self.events().joined(client, id);
        Ok(())
    }

    /// `client` leaves room `id`.
    pub fn leave(&self, client: &Client, id: &str) -> Result<(), HubError> {
        check_room_id(id)?;
        {
            let mut rooms = self.rooms.write();
            let room = rooms
                .get_mut(id)
                .ok_or_else(|| HubError::with_details(ErrorCode::RoomNotFound, id))?;
            match room.members.get(client.id()) {
                Some(m) if m.seq == client.seq => {
                    room.members.remove(client.id());
                }
                _ => return Err(HubError::with_details(ErrorCode::NotInRoom, id)),
            }
            client.rooms.lock().remove(id);
        }
        self.publish_delta(|| Delta::Left {
            id: client.id().to_owned(),
            q: client.seq,
            room: id.to_owned(),
        });
        HubMetrics::inc(&self.metrics.room_leaves);
        self.events().left(client, id);
        Ok(())
    }

    /// `client` leaves every room it is in (when it disconnects or is replaced).
    pub(super) fn leave_all(&self, client: &Client) {
        let ids: Vec<Arc<str>> = client.rooms.lock().drain().collect();
        for id in ids {
            let left = {
                let mut rooms = self.rooms.write();
                match rooms.get_mut(&id) {
                    Some(room) => match room.members.get(client.id()) {
                        Some(m) if m.seq == client.seq => {
                            room.members.remove(client.id()).is_some()
                        }
                        _ => false,
                    },
                    None => false,
                }
            };
            if left {
                HubMetrics::inc(&self.metrics.room_leaves);
                self.events().left(client, &id);
            }
        }
    }

    /// Every member of room `id` (on every node) except `except` (a client
    /// id): serialized once, framed once per node. Returns how many members
    /// it was queued for here plus the members other nodes hold.
    pub fn to_room(
        &self,
        id: &str,
        message_type: &str,
        data: &str,
        except: Option<&str>,
    ) -> Result<usize, HubError> {
        let message = protocol::encode(message_type, data, None);
        let here = self.deliver_room_local(id, except, &frame::text(&message));
        let (elsewhere, known) = match &self.cluster {
            Some(c) => {
                let dir = c.directory.read();
                (dir.room_members(id), dir.room(id).is_some())
            }
            None => (0, false),
        };
        let Some(sent) = here.or(known.then_some(0)) else {
            return Err(HubError::with_details(ErrorCode::RoomNotFound, id));
        };
        if let Some(c) = &self.cluster {
            c.room(id, except, &message);
        }
        Ok(sent + elsewhere)
    }
}
