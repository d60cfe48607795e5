//! The NATS bus: subjects `<prefix>.<topic>` (`nebula.room.lobby`). One
//! subscription, `<prefix>.>`, filtered here to this node's topics, so what
//! one node publishes arrives in the order it was published (separate
//! subscriptions would each be delivered on their own). async-nats
//! reconnects and resubscribes by itself; this task follows its connection
//! events for stats and logs, and drops what is published while it is down
//! (at most once, nothing stale replayed later).
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::bus::{backoff, matches, take_in, Bus, BusIo, BusMessage, BusStats, BusTask, Link};

/// Longest wait for the client to take a message (its buffer is full while reconnecting).
const PUBLISH_WAIT: Duration = Duration::from_millis(100);

pub struct NatsBus {
    pub url: String,
    pub prefix: String,
}

impl Bus for NatsBus {
    fn kind(&self) -> &'static str {
        "nats"
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
            let (events_tx, mut events) = mpsc::channel::<async_nats::Event>(64);
            let options = async_nats::ConnectOptions::new()
                .name("nebula-hub")
                .retry_on_initial_connect()
                .max_reconnects(None)
                .connection_timeout(Duration::from_secs(2))
                .reconnect_delay_callback(|attempt| backoff(attempt.min(30) as u32))
                .event_callback(move |event| {
                    let tx = events_tx.clone();
                    async move {
                        let _ = tx.try_send(event);
                    }
                });
            let mut link = Link::new("nats", stats.clone());
            let client = match options.connect(self.url.as_str()).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "hub cluster: cannot use the nats url; this node stays alone");
                    link.down(&e.to_string());
                    return;
                }
            };
            let prefix_len = self.prefix.len() + 1;
            let mut reader = match client.subscribe(format!("{}.>", self.prefix)).await {
                Ok(sub) => {
                    let stats = stats.clone();
                    Some(tokio::spawn(async move {
                        let mut sub = sub;
                        while let Some(msg) = sub.next().await {
                            let topic = msg.subject.get(prefix_len..).unwrap_or_default();
                            if subscriptions.iter().any(|s| matches(s, topic)) {
                                let topic = topic.to_owned();
                                take_in(
                                    &inbound,
                                    &stats,
                                    BusMessage {
                                        topic,
                                        payload: msg.payload,
                                    },
                                );
                            }
                        }
                    }))
                }
                Err(e) => {
                    tracing::error!(error = %e, "hub cluster: nats subscribe failed; this node hears nothing");
                    None
                }
            };
            // The server has the subscription once a flush round-trip
            // returns: only then may this node say it is on the bus (others'
            // messages published from now on reach it).
            let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
            if client.connection_state() == async_nats::connection::State::Connected {
                link.up();
            }
            loop {
                tokio::select! {
                    msg = outbound.recv() => match msg {
                        Some(m) => publish(&client, &self.prefix, m, &stats).await,
                        None => break,
                    },
                    Some(event) = events.recv() => match event {
                        async_nats::Event::Connected => link.up(),
                        async_nats::Event::Disconnected => link.down("disconnected from the nats server"),
                        async_nats::Event::SlowConsumer(_) => {
                            tracing::warn!("hub cluster: nats says this node reads too slowly; messages were dropped");
                        }
                        other => tracing::debug!(event = %other, "hub cluster: nats event"),
                    },
                    _ = stop.changed() => {
                        // A goodbye queued before the stop still goes out.
                        while let Ok(m) = outbound.try_recv() {
                            publish(&client, &self.prefix, m, &stats).await;
                        }
                        let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
                        break;
                    }
                }
            }
            if let Some(r) = reader.take() {
                r.abort();
            }
            stats.set_connected(false);
        })
    }
}

async fn publish(client: &async_nats::Client, prefix: &str, m: BusMessage, stats: &BusStats) {
    if client.connection_state() != async_nats::connection::State::Connected {
        BusStats::add(&stats.publish_dropped, 1);
        return;
    }
    let sent = tokio::time::timeout(
        PUBLISH_WAIT,
        client.publish(format!("{prefix}.{}", m.topic), m.payload),
    )
    .await;
    match sent {
        Ok(Ok(())) => BusStats::add(&stats.published, 1),
        _ => BusStats::add(&stats.publish_dropped, 1),
    }
}
