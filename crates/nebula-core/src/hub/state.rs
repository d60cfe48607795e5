//! The hub: who is connected, which rooms exist, and delivery. Fan-out
//! frames a message once and queues the same bytes for every recipient.
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};

use super::client::Client;
use super::cluster::directory::Delta;
use super::cluster::Cluster;
use super::config::{HubConfig, OnFull};
use super::error::MessageTypeError;
use super::events::{HubEvents, HubScripts, NoEvents};
use super::identity::Identity;
use super::metrics::HubMetrics;
use super::protocol::{self, ErrorCode, HubError};
use super::rooms::Room;
use super::ws::{frame, Outbox, OutboxLimits, Push};

/// Close code for a connection replaced by a newer one with the same client id.
pub const CLOSE_REPLACED: u16 = 4000;
/// Close code for `disconnect(id)` from the server SDK or the admin API.
pub const CLOSE_KICKED: u16 = 4001;

pub struct Hub {
    pub(super) config: HubConfig,
    pub(super) clients: RwLock<HashMap<Arc<str>, Arc<Client>>>,
    pub(super) rooms: RwLock<HashMap<Arc<str>, Room>>,
    pub(super) events: RwLock<Arc<dyn HubEvents>>,
    /// Hook scripts (the script VM), when a JsvmPlugin shares the engine.
    pub(super) scripts: RwLock<Option<Arc<dyn HubScripts>>>,
    /// Custom message types with a TypeScript handler, and the permission each needs.
    pub(super) handlers: RwLock<HashMap<String, Option<String>>>,
    pub metrics: HubMetrics,
    /// The other nodes, when a bus joins this hub to a cluster.
    pub(super) cluster: Option<Arc<Cluster>>,
    next_seq: AtomicU64,
    /// Connections being set up or open (the cap counts both).
    pub(super) open: AtomicU64,
    started_at: u64,
    shutting_down: std::sync::atomic::AtomicBool,
    /// Notified when the last open connection ends.
    pub(super) all_closed: tokio::sync::Notify,
}

/// Whether `message_type` can be a custom type (a handler's or a hook's):
/// 1 to `MAX_TYPE_LEN` bytes and not a built-in type.
pub fn check_custom_type(message_type: &str) -> Result<(), MessageTypeError> {
    if super::dispatch::is_builtin(message_type) {
        return Err(MessageTypeError::BuiltIn(message_type.to_owned()));
    }
    if message_type.is_empty() || message_type.len() > protocol::MAX_TYPE_LEN {
        return Err(MessageTypeError::Length {
            max: protocol::MAX_TYPE_LEN,
        });
    }
    Ok(())
}

impl Hub {
    pub fn new(config: HubConfig) -> Arc<Hub> {
        let cluster = config.bus.clone().map(Cluster::new);
        Arc::new(Hub {
            config,
            cluster,
            clients: RwLock::default(),
            rooms: RwLock::default(),
            events: RwLock::new(Arc::new(NoEvents)),
            scripts: RwLock::default(),
            handlers: RwLock::default(),
            metrics: HubMetrics::default(),
            next_seq: AtomicU64::new(1),
            open: AtomicU64::new(0),
            started_at: protocol::now_ms(),
            shutting_down: Default::default(),
            all_closed: tokio::sync::Notify::new(),
        })
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// Where events go (set once the TypeScript side listens).
    pub fn set_events(&self, events: Arc<dyn HubEvents>) {
        *self.events.write() = events;
    }

    pub(super) fn events(&self) -> Arc<dyn HubEvents> {
        self.events.read().clone()
    }

    /// Where hook scripts listen (None to stop).
    pub fn set_scripts(&self, scripts: Option<Arc<dyn HubScripts>>) {
        *self.scripts.write() = scripts;
    }

    pub(super) fn scripts(&self) -> Option<Arc<dyn HubScripts>> {
        self.scripts.read().clone()
    }

    fn tell_connected(&self, client: &Client) {
        self.events().connected(client);
        if let Some(s) = self.scripts() {
            s.connected(client);
        }
    }

    fn tell_disconnected(&self, client: &Client, code: u16, reason: &str) {
        self.events().disconnected(client, code, reason);
        if let Some(s) = self.scripts() {
            s.disconnected(client, code, reason);
        }
    }

    /// Routes messages of `message_type` to the TypeScript side; `permission`
    /// is required of the sender when given. Built-in types cannot be taken over.
    pub fn register_handler(
        &self,
        message_type: &str,
        permission: Option<String>,
    ) -> Result<(), MessageTypeError> {
        check_custom_type(message_type)?;
        self.handlers
            .write()
            .insert(message_type.to_owned(), permission);
        Ok(())
    }

    /// Registers a new connection. A signed-in client replaces a connection
    /// with the same client id (closed with 4000, its rooms left); an
    /// anonymous one is refused instead (ids of anonymous clients prove nothing).
    pub fn connect(
        &self,
        identity: Identity,
        remote: Option<IpAddr>,
    ) -> Result<Arc<Client>, HubError> {
        let outbox = Arc::new(Outbox::new(OutboxLimits {
            max_messages: self.config.send_queue_messages,
            max_bytes: self.config.send_queue_bytes,
        }));
        let connected_at = self.connected_at_for(&identity.id);
        let client = Arc::new(Client {
            identity,
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            outbox,
            rooms: Mutex::new(HashSet::new()),
            connected_at,
            remote,
            limiter: super::client::Limiter::new(self.config.max_messages_per_second),
            waiting: Default::default(),
        });
        let old = {
            let mut clients = self.clients.write();
            let elsewhere = || {
                self.cluster
                    .as_ref()
                    .is_some_and(|c| c.directory.read().locate(client.id()).is_some())
            };
            if client.identity.anonymous && (clients.contains_key(client.id()) || elsewhere()) {
                return Err(HubError::with_details(
                    ErrorCode::Unauthorized,
                    format!("client id {} is in use", client.id()),
                ));
            }
            clients.insert(Arc::from(client.id()), client.clone())
        };
        HubMetrics::inc(&self.metrics.connections);
        if let Some(old) = old {
            HubMetrics::inc(&self.metrics.replaced);
            old.outbox
                .close(CLOSE_REPLACED, "replaced by a newer connection");
            self.leave_all(&old);
            self.tell_disconnected(&old, CLOSE_REPLACED, "replaced by a newer connection");
        }
        self.publish_delta(|| Delta::Connected(Hub::client_state(&client)));
        self.tell_connected(&client);
        if self.is_shutting_down() {
            // shutdown() took its list before this connection was registered.
            client.outbox.close(1001, "server shutting down");
        }
        Ok(client)
    }

    /// Forgets a connection that ended (a no-op for one already replaced).
    pub fn disconnect(&self, client: &Arc<Client>, code: u16, reason: &str) {
        let removed = {
            let mut clients = self.clients.write();
            match clients.get(client.id()) {
                Some(c) if c.seq == client.seq => clients.remove(client.id()).is_some(),
                _ => false,
            }
        };
        if removed {
            self.leave_all(client);
            self.publish_delta(|| Delta::Disconnected {
                id: client.id().to_owned(),
                q: client.seq,
            });
            self.tell_disconnected(client, code, reason);
        }
    }

    /// Closes client `id`'s connection (4001 unless `code` is given) — only
    /// connection `seq` when given; false when not connected. A client on
    /// another node (no `seq`) is closed by its node.
    pub fn kick(&self, id: &str, seq: Option<u64>, code: Option<u16>, reason: &str) -> bool {
        match self.client(id, seq) {
            Some(c) => {
                c.outbox.close(code.unwrap_or(CLOSE_KICKED), reason);
                true
            }
            None if seq.is_none() => self.remote_node(id).is_some_and(|(cluster, node)| {
                cluster.kick(&node, id, code, reason);
                true
            }),
            None => false,
        }
    }

    /// Sends to connection `seq` of client `id` only (not to a newer one).
    pub fn to_connection(&self, id: &str, seq: u64, message_type: &str, data: &str) -> bool {
        match self.client(id, Some(seq)) {
            Some(c) => self.send(&c, &protocol::encode(message_type, data, None)),
            None => false,
        }
    }

    /// Client `id`'s connection — only if it is connection `seq`, when given.
    fn client(&self, id: &str, seq: Option<u64>) -> Option<Arc<Client>> {
        self.clients
            .read()
            .get(id)
            .filter(|c| seq.is_none_or(|s| c.seq == s))
            .cloned()
    }

    /// Queues `frame` for `client`, applying the send-queue policy when it is full.
    pub(super) fn deliver(&self, client: &Client, frame: &Bytes) -> bool {
        match client.outbox.push(frame.clone()) {
            Push::Queued => {
                HubMetrics::inc(&self.metrics.messages_sent);
                HubMetrics::add(&self.metrics.bytes_sent, frame.len() as u64);
                true
            }
            Push::Closed => false,
            Push::Full => {
                match self.config.on_full {
                    OnFull::Disconnect => {
                        if !client.outbox.is_closing() {
                            HubMetrics::inc(&self.metrics.slow_clients);
                            tracing::warn!(client = %client.id(), "hub: send queue full; disconnecting the slow client");
                        }
                        client.outbox.close_now(1008, "send queue full");
                    }
                    OnFull::Drop => HubMetrics::inc(&self.metrics.dropped_messages),
                }
                false
            }
        }
    }

    /// Sends one message to one client (framed here).
    pub(super) fn send(&self, client: &Client, payload: &[u8]) -> bool {
        self.deliver(client, &frame::text(payload))
    }

    /// Sends an `error` message answering `request_id`.
    pub(super) fn send_error(&self, client: &Client, err: &HubError, request_id: u64) {
        HubMetrics::inc(&self.metrics.errors);
        self.send(client, &protocol::encode_error(err, request_id));
    }

    /// Every connected client (of every node): the message is serialized
    /// once, framed once per node. Returns how many it was queued for here
    /// plus the clients other nodes hold.
    pub fn broadcast(&self, message_type: &str, data: &str) -> usize {
        HubMetrics::inc(&self.metrics.broadcasts);
        let message = protocol::encode(message_type, data, None);
        let here = self.deliver_all_local(&frame::text(&message));
        match &self.cluster {
            Some(c) => {
                c.all(&message);
                here + c.directory.read().client_count()
            }
            None => here,
        }
    }

    /// One client by id, optionally as the answer to its request `request_id`.
    pub fn to_client(
        &self,
        id: &str,
        message_type: &str,
        data: &str,
        request_id: Option<u64>,
    ) -> Result<(), HubError> {
        let message = protocol::encode(message_type, data, request_id);
        if let Some(client) = self.client(id, None) {
            self.send(&client, &message);
            return Ok(());
        }
        let (cluster, node) = self
            .remote_node(id)
            .ok_or_else(|| HubError::with_details(ErrorCode::ClientNotFound, id))?;
        cluster.direct(&node, id, &message);
        Ok(())
    }

    /// Answers a custom message: delivered only if connection `seq` is still the client's.
    pub fn reply(
        &self,
        id: &str,
        seq: u64,
        message_type: &str,
        data: &str,
        request_id: u64,
    ) -> bool {
        match self.client(id, Some(seq)) {
            Some(c) => self.send(&c, &protocol::encode(message_type, data, Some(request_id))),
            None => false,
        }
    }

    /// Answers a custom message with an error.
    pub fn reply_error(&self, id: &str, seq: u64, err: &HubError, request_id: u64) -> bool {
        match self.client(id, Some(seq)) {
            Some(c) => {
                self.send_error(&c, err, request_id);
                true
            }
            None => false,
        }
    }

    /// The connected clients, as `clients()` reports them.
    pub fn clients_info(&self) -> Vec<Value> {
        let clients: Vec<Arc<Client>> = self.clients.read().values().cloned().collect();
        let mut out: Vec<Value> = clients.iter().map(|c| c.info()).collect();
        out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        out
    }

    pub fn client_count(&self) -> usize {
        self.clients.read().len()
    }

    /// `GET /api/stats` and `stats()`: this node's figures, and with a bus
    /// `cluster` (nodes, clients of every node, the bus's state).
    pub fn stats(&self) -> Value {
        let clients = self.client_count();
        let mut stats = json!({
            "clients": clients,
            "rooms": self.rooms.read().len(),
            "started_at": self.started_at,
            "uptime_ms": protocol::now_ms().saturating_sub(self.started_at),
            "counters": self.metrics.counters_json(),
        });
        if let Some(c) = &self.cluster {
            stats["node"] = Value::from(c.node());
            stats["cluster"] = c.info(clients);
        }
        stats
    }

    /// The exposition text for `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        let clients = self.client_count();
        self.metrics.render(out, clients, self.rooms.read().len());
        if let Some(c) = &self.cluster {
            c.render_metrics(out, clients);
        }
    }

    /// Stops accepting connections and closes every open one with 1001.
    pub fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let clients: Vec<Arc<Client>> = self.clients.read().values().cloned().collect();
        for c in clients {
            c.outbox.close(1001, "server shutting down");
        }
    }

    /// Waits (at most `limit`) until every connection has ended; false on timeout.
    pub async fn wait_closed(&self, limit: std::time::Duration) -> bool {
        let all_gone = async {
            loop {
                let notified = self.all_closed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.open.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, all_gone).await.is_ok()
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
