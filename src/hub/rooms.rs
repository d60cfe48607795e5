//! Rooms: created by the server (SDK or admin API), joined and left by
//! clients, `max_clients` enforced (0 = unlimited).
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::client::Client;
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

fn check_room_id(id: &str) -> Result<(), HubError> {
    if id.is_empty() || id.len() > MAX_ROOM_ID_LEN || id.chars().any(char::is_control) {
        return Err(HubError::with_details(
            ErrorCode::InvalidFormat,
            format!("a room id is 1 to {MAX_ROOM_ID_LEN} printable characters"),
        ));
    }
    Ok(())
}

impl Hub {
    /// Creates room `id` (3001 if it exists).
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
        rooms.insert(Arc::from(id), room);
        Ok(info)
    }

    /// Deletes room `id`; its members leave it (3000 if it does not exist).
    pub fn delete_room(&self, id: &str) -> Result<(), HubError> {
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

    /// Every room, sorted by id.
    pub fn rooms_info(&self) -> Vec<Value> {
        let rooms = self.rooms.read();
        let mut out: Vec<(&Arc<str>, Value)> =
            rooms.iter().map(|(id, r)| (id, r.info(id))).collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out.into_iter().map(|(_, v)| v).collect()
    }

    /// One room's details including its member ids.
    pub fn room_info(&self, id: &str) -> Option<Value> {
        let rooms = self.rooms.read();
        rooms.get(id).map(|r| {
            let mut info = r.info(id);
            let mut members: Vec<&str> = r.members.keys().map(|k| &**k).collect();
            members.sort_unstable();
            info["members"] = json!(members);
            info
        })
    }

    /// `client` joins room `id`.
    pub fn join(&self, client: &Arc<Client>, id: &str) -> Result<(), HubError> {
        {
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
            let room = rooms
                .get_mut(id)
                .ok_or_else(|| HubError::with_details(ErrorCode::RoomNotFound, id))?;
            if room
                .members
                .get(client.id())
                .is_some_and(|m| m.seq == client.seq)
            {
                return Err(HubError::with_details(ErrorCode::AlreadyInRoom, id));
            }
            // A member with this id but another connection is a leftover: replaced.
            let stale = room.members.contains_key(client.id());
            if !stale && room.max_clients > 0 && room.members.len() >= room.max_clients {
                return Err(HubError::with_details(
                    ErrorCode::RoomFull,
                    format!("{id} holds at most {} clients", room.max_clients),
                ));
            }
            room.members.insert(Arc::from(client.id()), client.clone());
            client.rooms.lock().insert(Arc::from(id));
        }
        HubMetrics::inc(&self.metrics.room_joins);
        self.events().joined(client, id);
        Ok(())
    }

    /// `client` leaves room `id`.
    pub fn leave(&self, client: &Client, id: &str) -> Result<(), HubError> {
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

    /// Every member of room `id` except `except` (a client id): serialized
    /// and framed once. Returns how many members it was queued for.
    pub fn to_room(
        &self,
        id: &str,
        message_type: &str,
        data: &str,
        except: Option<&str>,
    ) -> Result<usize, HubError> {
        let frame = frame::text(&protocol::encode(message_type, data, None));
        // Queuing never waits, so it happens under the read lock (no copy of the member list).
        let rooms = self.rooms.read();
        let room = rooms
            .get(id)
            .ok_or_else(|| HubError::with_details(ErrorCode::RoomNotFound, id))?;
        Ok(room
            .members
            .iter()
            .filter(|(k, c)| Some(&***k) != except && self.deliver(c, &frame))
            .count())
    }
}
