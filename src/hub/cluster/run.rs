//! Starting and stopping a node's part in the cluster: the bus task, the
//! task applying what arrives, and the ticker (heartbeat, presence expiry,
//! resync after the bus comes back).
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::bus::{BusIo, BusMessage};
use super::inbound::Inbound;
use crate::hub::Hub;

impl Hub {
    /// Joins the cluster (when a bus is configured): call once, inside the
    /// tokio runtime, when the engine starts serving. A no-op otherwise.
    pub fn start_cluster(self: &Arc<Self>) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let Some((outbound, stop)) = cluster.pending.lock().take() else {
            return;
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
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut was_connected = false;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop_tick.changed() => return,
                }
                let Some(hub) = hub.upgrade() else { return };
                let Some(cluster) = hub.cluster.as_ref() else { return };
                let connected = cluster.stats.is_connected();
                if connected && !was_connected {
                    // Joined or back after an outage: everyone's state may
                    // have moved on; ask for it (others ask us on our heartbeat).
                    cluster.ask_sync(None);
                }
                was_connected = connected;
                cluster.heartbeat();
                let gone = cluster.directory.write().expire(cluster.config.presence_ttl);
                for node in gone {
                    tracing::warn!(node, "hub cluster: node silent for longer than the presence TTL; its clients are gone");
                }
            }
        }));
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
        cluster.stats.connected.store(false, Ordering::Relaxed);
    }
}
