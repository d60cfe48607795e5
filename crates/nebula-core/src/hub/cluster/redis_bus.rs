//! The Redis bus: PUBLISH on `<prefix>.<topic>`, SUBSCRIBE to exact topics
//! and PSUBSCRIBE to wildcard ones (`nebula.room.*`). Two connections: one
//! subscribed, one publishing pipelined batches. Each reconnects with
//! backoff and resubscribes; while the publisher is down, messages are
//! dropped and counted (at most once).
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::bus::{backoff, pause, take_in, Bus, BusIo, BusMessage, BusStats, BusTask, Link};

/// Longest wait for a connection or a pipelined batch.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Most messages sent in one pipeline.
const BATCH: usize = 256;

pub struct RedisBus {
    pub url: String,
    pub prefix: String,
}

/// Why a connection attempt or a publish failed.
fn failure<E: std::fmt::Display>(
    r: Result<Result<(), E>, tokio::time::error::Elapsed>,
) -> Option<String> {
    match r {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

impl Bus for RedisBus {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn run(self: Box<Self>, io: BusIo) -> BusTask {
        Box::pin(async move {
            let client = match redis::Client::open(self.url.as_str()) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "hub cluster: invalid redis url; this node stays alone");
                    *io.stats.last_error.lock() = Some(e.to_string());
                    return;
                }
            };
            let BusIo {
                outbound,
                inbound,
                subscriptions,
                stats,
                stop,
                idle,
            } = io;
            let subscriptions: Vec<String> = subscriptions
                .iter()
                .map(|s| format!("{}.{s}", self.prefix))
                .collect();
            let prefix_len = self.prefix.len() + 1;
            let links = Arc::new(parking_lot::Mutex::new((
                false,
                false,
                Link::new("redis", stats.clone()),
            )));
            let sub = subscriber(
                client.clone(),
                idle,
                subscriptions,
                prefix_len,
                inbound,
                stats.clone(),
                links.clone(),
                stop.clone(),
            );
            let publ = publisher(client, self.prefix.clone(), outbound, stats, links, stop);
            tokio::join!(sub, publ);
        })
    }
}

/// (subscriber up, publisher up, link): the bus is up when both are.
type Links = Arc<parking_lot::Mutex<(bool, bool, Link)>>;

fn set(links: &Links, subscriber: bool, up: bool, error: &str) {
    let mut l = links.lock();
    if subscriber {
        l.0 = up;
    } else {
        l.1 = up;
    }
    if l.0 && l.1 {
        l.2.up();
    } else if !up {
        l.2.down(error);
    }
}

fn config() -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
}

#[allow(clippy::too_many_arguments)]
async fn subscriber(
    client: redis::Client,
    idle: Duration,
    subscriptions: Vec<String>,
    prefix_len: usize,
    inbound: mpsc::Sender<BusMessage>,
    stats: Arc<BusStats>,
    links: Links,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut attempt = 0;
    loop {
        let connect = async {
            let mut ps = client.get_async_pubsub().await?;
            for s in &subscriptions {
                if s.ends_with('*') {
                    ps.psubscribe(s).await?;
                } else {
                    ps.subscribe(s).await?;
                }
            }
            Ok::<_, redis::RedisError>(ps)
        };
        let ps = match tokio::time::timeout(TIMEOUT, connect).await {
            Ok(Ok(ps)) => ps,
            r => {
                let error = failure(r.map(|x| x.map(drop))).unwrap_or_default();
                set(&links, true, false, &error);
                if pause(&mut stop, backoff(attempt)).await {
                    return;
                }
                attempt += 1;
                continue;
            }
        };
        attempt = 0;
        set(&links, true, true, "");
        let mut messages = ps.into_on_message();
        loop {
            tokio::select! {
                // Own heartbeats arrive every interval: silence means a dead connection.
                msg = tokio::time::timeout(idle, messages.next()) => match msg {
                    Ok(Some(msg)) => {
                        let topic = msg.get_channel_name().get(prefix_len..).unwrap_or_default().to_owned();
                        let payload = bytes::Bytes::copy_from_slice(msg.get_payload_bytes());
                        take_in(&inbound, &stats, BusMessage { topic, payload });
                    }
                    Ok(None) | Err(_) => break,
                },
                _ = stop.changed() => return,
            }
        }
        set(&links, true, false, "the subscription connection closed");
    }
}

async fn publisher(
    client: redis::Client,
    prefix: String,
    mut outbound: mpsc::Receiver<BusMessage>,
    stats: Arc<BusStats>,
    links: Links,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut attempt = 0;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let conn = tokio::time::timeout(
            TIMEOUT,
            client.get_multiplexed_async_connection_with_config(&config()),
        )
        .await;
        let mut conn = match conn {
            Ok(Ok(c)) => c,
            r => {
                let error = failure(r.map(|x| x.map(drop))).unwrap_or_default();
                set(&links, false, false, &error);
                // Down: what waits is dropped, so nothing stale goes out later.
                while outbound.try_recv().is_ok() {
                    BusStats::add(&stats.publish_dropped, 1);
                }
                if pause(&mut stop, backoff(attempt)).await {
                    return;
                }
                attempt += 1;
                continue;
            }
        };
        attempt = 0;
        set(&links, false, true, "");
        loop {
            batch.clear();
            let stopping = tokio::select! {
                n = outbound.recv_many(&mut batch, BATCH) => n == 0,
                _ = stop.changed() => true,
            };
            if stopping {
                // A goodbye queued before the stop still goes out.
                while let Ok(m) = outbound.try_recv() {
                    batch.push(m);
                }
            }
            if !batch.is_empty() {
                let mut pipe = redis::pipe();
                for m in &batch {
                    pipe.cmd("PUBLISH")
                        .arg(format!("{prefix}.{}", m.topic))
                        .arg(&m.payload[..])
                        .ignore();
                }
                let r = tokio::time::timeout(TIMEOUT, pipe.query_async::<()>(&mut conn)).await;
                if let Some(error) = failure(r) {
                    BusStats::add(&stats.publish_dropped, batch.len() as u64);
                    set(&links, false, false, &error);
                    break;
                }
                BusStats::add(&stats.published, batch.len() as u64);
            }
            if stopping {
                return;
            }
        }
    }
}
