//! One connected client: identity, send queue and the rooms it is in.
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Value};

use super::identity::Identity;
use super::ws::Outbox;

pub struct Client {
    pub identity: Identity,
    /// This connection's number (unique in the process): tells a client id's
    /// connections apart when the same id connects again.
    pub seq: u64,
    pub outbox: Arc<Outbox>,
    pub rooms: Mutex<HashSet<Arc<str>>>,
    /// Milliseconds since the epoch.
    pub connected_at: u64,
    pub remote: Option<IpAddr>,
}

impl Client {
    pub fn id(&self) -> &str {
        &self.identity.id
    }

    /// What `clients()` and `GET /api/clients` report.
    pub fn info(&self) -> Value {
        let mut rooms: Vec<String> = self.rooms.lock().iter().map(|r| r.to_string()).collect();
        rooms.sort();
        json!({
            "id": self.identity.id,
            "username": self.identity.username,
            "anonymous": self.identity.anonymous,
            "permissions": self.identity.permissions,
            "rooms": rooms,
            "connected_at": self.connected_at,
            "remote_addr": self.remote.map(|a| a.to_string()),
            "queued_messages": self.outbox.len(),
            "queued_bytes": self.outbox.queued_bytes(),
        })
    }
}
