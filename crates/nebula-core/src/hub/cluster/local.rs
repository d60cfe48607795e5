//! The in-process bus: hubs of engines in this process that name the same
//! group reach each other without any server (tests, or several engines
//! embedded in one process). Never down.
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::bus::{matches, take_in, Bus, BusIo, BusMessage, BusStats, BusTask};

struct Member {
    id: u64,
    subscriptions: Vec<String>,
    inbound: mpsc::Sender<BusMessage>,
    stats: Arc<BusStats>,
}

static GROUPS: LazyLock<Mutex<HashMap<String, Vec<Member>>>> = LazyLock::new(Default::default);

pub struct LocalBus {
    pub group: String,
}

fn publish(group: &str, msg: &BusMessage) {
    let groups = GROUPS.lock();
    for m in groups.get(group).into_iter().flatten() {
        if m.subscriptions.iter().any(|s| matches(s, &msg.topic)) {
            take_in(&m.inbound, &m.stats, msg.clone());
        }
    }
}

impl Bus for LocalBus {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn run(self: Box<Self>, io: BusIo) -> BusTask {
        Box::pin(async move {
            let BusIo {
                mut outbound,
                inbound,
                subscriptions,
                stats,
                mut stop,
                ..
            } = io;
            let id = crate::support::ids::random_u64();
            GROUPS
                .lock()
                .entry(self.group.clone())
                .or_default()
                .push(Member {
                    id,
                    subscriptions,
                    inbound,
                    stats: stats.clone(),
                });
            stats.set_connected(true);
            loop {
                tokio::select! {
                    msg = outbound.recv() => match msg {
                        Some(msg) => {
                            BusStats::add(&stats.published, 1);
                            publish(&self.group, &msg);
                        }
                        None => break,
                    },
                    _ = stop.changed() => break,
                }
            }
            // Whatever was queued before the stop still goes out (a node's goodbye).
            while let Ok(msg) = outbound.try_recv() {
                publish(&self.group, &msg);
            }
            let mut groups = GROUPS.lock();
            if let Some(members) = groups.get_mut(&self.group) {
                members.retain(|m| m.id != id);
                if members.is_empty() {
                    groups.remove(&self.group);
                }
            }
            stats.set_connected(false);
        })
    }
}
