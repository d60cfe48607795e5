//! Starting and stopping a node's part in the cluster: the bus task, the
//! task applying what arrives, and the ticker (heartbeat, presence expiry,
//! lookup deadlines, resync as soon as the bus is (back) up).
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::bus::{BusIo, BusMessage};
use super::inbound::Inbound;
use crate::hub::Hub;

/// Longest a starting node waits for its bus before it serves anyway
/// (delivering locally and retrying in the background).
const JOIN_WAIT: Duration = Duration::from_secs(3);

impl Hub {
    /// Joins the cluster (when a bus is configured): call once, inside the
    /// tokio runtime, when the engine starts serving. A no-op otherwise.
    /// Resolves once the bus is connected and subscribed (or its first
    /// attempt failed, or after [`JOIN_WAIT`]): a node that serves before it
    /// is subscribed would miss what other nodes say about its own clients'
    /// peers, and its clients' direct messages would go nowhere.
    pub async fn start_cluster(self: &Arc<Self>) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if !self.spawn_cluster() {
            return;
        }
        let joined = cluster
            .stats
            .wait_for(JOIN_WAIT, |s| s.settled.load(Ordering::SeqCst))
            .await;
        if !joined {
            tracing::warn!(
                wait_ms = JOIN_WAIT.as_millis() as u64,
                "hub cluster: the bus did not answer in time; serving, delivering locally only until it does"
            );
        }
    }

    /// Spawns the bus task, the task applying what arrives and the ticker;
    /// false when already started.
    pub(crate) fn spawn_cluster(self: &Arc<Self>) -> bool {
        let Some(cluster) = self.cluster.clone() else {
            return false;
        };
        let Some((outbound, stop)) = cluster.pending.lock().take() else {
            return false;
        };
        let node = cluster.node().to_owned();
        let (inbound_tx, mut inbound_rx) = mpsc::channel::<BusMessage>(cluster.config.queue);
        let bus = cluster.bus();
        tracing::info!(node, bus = bus.kind(), "hub cluster: joining");
        let io = BusIo {
            outbound,
            inbound: inbound_tx,
            subscriptions: vec![
                "all".into(),
                "state".into(),
                "room.*".into(),
                super::bus::node_topic(&node),
            ],
            stats: cluster.stats.clone(),
            stop: stop.clone(),
            idle: cluster.config.presence_ttl,
        };
        let mut tasks = cluster.tasks.lock();
        tasks.push(tokio::spawn(bus.run(io)));
        let hub = Arc::downgrade(self);
        tasks.push(tokio::spawn(async move {
            let mut state = Inbound::default();
            let mut batch = Vec::with_capacity(256);
            while inbound_rx.recv_many(&mut batch, 256).await > 0 {
                let Some(hub) = hub.upgrade() else { return };
                for msg in batch.drain(..) {
                    state.handle(&hub, msg);
                }
            }
        }));
        let hub = Arc::downgrade(self);
        let mut stop_tick = stop;
        let every = cluster.config.heartbeat;
        let stats = cluster.stats.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut was_connected = false;
            loop {
                let changed = stats.changed.notified();
                tokio::pin!(changed);
                // Registered before the state is read, so no change slips between.
                changed.as_mut().enable();
                {
                    let Some(hub) = hub.upgrade() else { return };
                    let Some(cluster) = hub.cluster.as_ref() else { return };
                    let connected = stats.is_connected();
                    if connected && !was_connected {
                        // Joined or back after an outage: everyone's state may
                        // have moved on; ask for it at once (not at the next
                        // tick), and say we are here so others ask us.
                        cluster.ask_sync(None);
                        cluster.heartbeat();
                    }
                    was_connected = connected;
                }
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut changed => continue,
                    _ = stop_tick.changed() => return,
                }
                let Some(hub) = hub.upgrade() else { return };
                let Some(cluster) = hub.cluster.as_ref() else { return };
                cluster.heartbeat();
                let gone = cluster.directory.write().expire(cluster.config.presence_ttl);
                for node in gone {
                    tracing::warn!(node, "hub cluster: node silent for longer than the presence TTL; its clients are gone");
                }
                hub.expire_lookups();
            }
        }));
        true
    }

    /// Leaves the cluster: says goodbye (others forget this node at once)
    /// and stops the bus within `limit`.
    pub async fn stop_cluster(&self, limit: Duration) {
        let Some(cluster) = self.cluster.as_ref() else {
            return;
        };
        cluster.bye();
        let _ = cluster.stop.send(true);
        let tasks: Vec<_> = cluster.tasks.lock().drain(..).collect();
        for mut t in tasks {
            if tokio::time::timeout(limit, &mut t).await.is_err() {
                tracing::warn!("hub cluster: the bus did not stop in time");
                t.abort();
            }
        }
        cluster.stats.set_connected(false);
    }
}
