//! The hub's side of clustering: local-only delivery for what arrives from
//! the bus, this node's state as others see it, and the rules that span
//! nodes (one connection per client id, room replicas).
use std::sync::Arc;

use bytes::Bytes;

use super::directory::{ClientState, Delta, RoomState};
use super::Cluster;
use crate::hub::client::Client;
use crate::hub::protocol;
use crate::hub::{Hub, CLOSE_REPLACED};

impl Hub {
    /// This node's cluster part, when it has a bus.
    pub fn cluster(&self) -> Option<&Arc<super::Cluster>> {
        self.cluster.as_ref()
    }

    /// Publishes a change of this node's state; on one node `d` is never
    /// called (nothing is built for a cluster that does not exist).
    pub(crate) fn publish_delta(&self, d: impl FnOnce() -> Delta) {
        if let Some(c) = &self.cluster {
            c.delta(&d());
        }
    }

    /// Now, or just after the connection another node holds for `id`: the
    /// newer connection wins on every node even when clocks disagree.
    pub(crate) fn connected_at_for(&self, id: &str) -> u64 {
        let now = protocol::now_ms();
        self.cluster
            .as_ref()
            .and_then(|c| c.directory.read().locate(id).map(|l| l.client.t))
            .map_or(now, |t| now.max(t + 1))
    }

    /// The cluster and the node holding client `id` elsewhere, if any.
    pub(crate) fn remote_node(&self, id: &str) -> Option<(&Cluster, String)> {
        let cluster = self.cluster.as_deref()?;
        let node = cluster.directory.read().locate(id)?.node.to_owned();
        Some((cluster, node))
    }

    pub(crate) fn client_state(c: &Client) -> ClientState {
        ClientState {
            id: c.id().to_owned(),
            q: c.seq,
            u: c.identity.username.clone(),
            a: c.identity.anonymous,
            t: c.connected_at,
            r: c.rooms.lock().iter().map(|r| r.to_string()).collect(),
        }
    }

    /// Members of `room` here, except client `except`: how many got `frame`
    /// (None when this node has no such room). Queuing never waits, so it
    /// happens under the read lock.
    pub(crate) fn deliver_room_local(
        &self,
        room: &str,
        except: Option<&str>,
        frame: &Bytes,
    ) -> Option<usize> {
        let rooms = self.rooms.read();
        rooms.get(room).map(|r| {
            r.members
                .iter()
                .filter(|(k, c)| Some(&***k) != except && self.deliver(c, frame))
                .count()
        })
    }

    pub(crate) fn deliver_all_local(&self, frame: &Bytes) -> usize {
        let clients = self.clients.read();
        clients.values().filter(|c| self.deliver(c, frame)).count()
    }

    /// The connection number of client `id` here, if connected here.
    pub(crate) fn client_seq(&self, id: &str) -> Option<u64> {
        self.clients.read().get(id).map(|c| c.seq)
    }

    pub(crate) fn deliver_client_local(&self, id: &str, frame: &Bytes) -> bool {
        let client = self.clients.read().get(id).cloned();
        client.is_some_and(|c| self.deliver(&c, frame))
    }

    /// This node's clients and rooms, for a snapshot.
    pub(crate) fn local_state(&self) -> (Vec<ClientState>, Vec<RoomState>) {
        let clients: Vec<ClientState> = self
            .clients
            .read()
            .values()
            .map(|c| Hub::client_state(c))
            .collect();
        let rooms = self
            .rooms
            .read()
            .iter()
            .map(|(id, r)| RoomState {
                id: id.to_string(),
                name: r.name.clone(),
                max: r.max_clients,
                t: r.created_at,
            })
            .collect();
        (clients, rooms)
    }

    /// One connection per client id in the cluster: when `remote` (on
    /// `node`) wins over the local connection with its id, the local one is
    /// closed with 4000. A signed-in connection wins over an anonymous one;
    /// otherwise the newer wins (later `connected_at`, then the greater node
    /// id), so both nodes agree which one stays.
    pub(crate) fn replace_if_newer(&self, remote: &ClientState, node: &str) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let Some(local) = self.clients.read().get(remote.id.as_str()).cloned() else {
            return;
        };
        let remote_wins = match (local.identity.anonymous, remote.a) {
            (false, true) => false,
            (true, false) => true,
            _ => (local.connected_at, cluster.node()) < (remote.t, node),
        };
        if remote_wins {
            local.outbox.close(
                CLOSE_REPLACED,
                "replaced by a newer connection on another node",
            );
        }
    }

    /// Room `id` was deleted on another node: the copy here goes too.
    pub(crate) fn drop_room_replica(&self, id: &str) {
        if self.rooms.read().contains_key(id) {
            let _ = self.delete_room_here(id);
        }
    }
}
