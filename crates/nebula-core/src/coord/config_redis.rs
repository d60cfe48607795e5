//! Config values in Redis: one plain string key per value (`{prefix}{key}`,
//! readable with redis-cli). Each write is a Lua script that changes the key
//! and PUBLISHes `{"k", "v"?, "o"?}` (key, new value, old value) on the
//! channel `{prefix}config-changes` in one step, so every watcher sees the
//! changes in the order Redis made them, with the value they replaced.
//! (Keyspace notifications would need the server configured for them.)
//!
//! A watch is a subscriber task with its own connection; when it drops, the
//! task reconnects (backing off up to 5 s) and marks the feed lagged, since
//! changes may have passed meanwhile. Other operations share one
//! multiplexed connection, made by the first, each bounded by `timeout`
//! (a command the dropped connection refused is sent once more).
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;

use super::config_store::{check_entry, check_prefix};
use super::redis_conn::{LazyConnection, OnDropped};
use super::{
    ChangeFeed, ConfigChange, ConfigStore, CoordConfigError, CoordError, CoordFuture, OpFailure,
    Result, Watching,
};

const BACKEND: &str = "redis";
const SCAN_COUNT: usize = 500;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// KEYS[1] the key; ARGV[1] the value, ARGV[2] the channel.
const SET: &str = "local old = redis.call('GET', KEYS[1]) \
    redis.call('SET', KEYS[1], ARGV[1]) \
    local m = { k = KEYS[1], v = ARGV[1] } \
    if old then m.o = old end \
    redis.call('PUBLISH', ARGV[2], cjson.encode(m)) return 1";
const CREATE: &str = "if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end \
    redis.call('PUBLISH', ARGV[2], cjson.encode({ k = KEYS[1], v = ARGV[1] })) return 1";
/// KEYS[1] the key; ARGV[1] the channel.
const DELETE: &str = "local old = redis.call('GET', KEYS[1]) \
    if not old then return 0 end \
    redis.call('DEL', KEYS[1]) \
    redis.call('PUBLISH', ARGV[1], cjson.encode({ k = KEYS[1], o = old })) return 1";

/// A change as published by the scripts (keys with the store's prefix).
#[derive(Deserialize)]
struct Published {
    k: String,
    #[serde(default)]
    v: Option<String>,
    #[serde(default)]
    o: Option<String>,
}

/// `prefix` with the glob characters of SCAN's MATCH escaped, then `*`.
fn scan_pattern(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('*');
    out
}

pub struct RedisConfigStore {
    prefix: String,
    channel: String,
    timeout: Duration,
    conn: LazyConnection,
}

impl RedisConfigStore {
    /// Checks the URL (no connection yet).
    pub fn new(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> std::result::Result<Self, CoordConfigError> {
        super::redis::check_url(url).map_err(|reason| CoordConfigError::Url {
            backend: BACKEND,
            reason,
        })?;
        Ok(RedisConfigStore {
            prefix: prefix.to_owned(),
            channel: format!("{prefix}config-changes"),
            timeout,
            conn: LazyConnection::open(url, timeout)?,
        })
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn get_async(&self, key: &str) -> Result<Option<String>> {
        check_entry(BACKEND, "get", key, None)?;
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.full(key));
        self.conn.run("get", key, cmd, OnDropped::ResendOnce).await
    }

    async fn write(
        &self,
        op: &'static str,
        script: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<bool> {
        check_entry(BACKEND, op, key, value)?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(1).arg(self.full(key));
        if let Some(v) = value {
            cmd.arg(v);
        }
        cmd.arg(&self.channel);
        let n: i64 = self.conn.run(op, key, cmd, OnDropped::ResendOnce).await?;
        Ok(n == 1)
    }

    async fn list_async(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        check_prefix(BACKEND, "list", prefix)?;
        let full = self.full(prefix);
        let pattern = scan_pattern(&full);
        let mut keys: Vec<String> = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, batch): (u64, Vec<String>) = self
                .conn
                .run("list", prefix, cmd, OnDropped::ResendOnce)
                .await?;
            keys.extend(batch.into_iter().filter(|k| k.starts_with(&full)));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.sort();
        keys.dedup();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(SCAN_COUNT) {
            let mut cmd = redis::cmd("MGET");
            cmd.arg(chunk);
            let values: Vec<Option<String>> = self
                .conn
                .run("list", prefix, cmd, OnDropped::ResendOnce)
                .await?;
            for (k, v) in chunk.iter().zip(values) {
                // Deleted since the scan: not listed.
                if let Some(v) = v {
                    out.push((k[self.prefix.len()..].to_owned(), v));
                }
            }
        }
        Ok(out)
    }

    async fn watch_async(&self, prefix: &str, feed: Arc<ChangeFeed>) -> Result<Watching> {
        check_prefix(BACKEND, "watch", prefix)?;
        let fail = |reason: OpFailure| CoordError::new(BACKEND, "watch", prefix, reason);
        // The first subscription is made here, so a change after this resolves is seen.
        let first = subscribe(self.conn.client(), &self.channel, self.timeout)
            .await
            .map_err(fail)?;
        let watcher = Watcher {
            client: self.conn.client().clone(),
            channel: self.channel.clone(),
            store_prefix: self.prefix.len(),
            full_prefix: self.full(prefix),
            timeout: self.timeout,
            feed,
        };
        let task = tokio::spawn(watcher.run(first));
        Ok(Watching::new(move || task.abort()))
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
    timeout: Duration,
) -> std::result::Result<redis::aio::PubSub, OpFailure> {
    let work = async {
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .map_err(|e| OpFailure::Connect(format!("cannot connect: {e}")))?;
        pubsub
            .subscribe(channel)
            .await
            .map_err(|e| OpFailure::Backend(e.to_string()))?;
        Ok(pubsub)
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| OpFailure::ConnectTimeout(timeout))?
}

/// The subscriber task of one watch.
struct Watcher {
    client: redis::Client,
    channel: String,
    store_prefix: usize,
    full_prefix: String,
    timeout: Duration,
    feed: Arc<ChangeFeed>,
}

impl Watcher {
    async fn run(self, first: redis::aio::PubSub) {
        let mut pubsub = first;
        loop {
            let mut messages = pubsub.into_on_message();
            while let Some(msg) = messages.next().await {
                self.deliver(msg.get_payload_bytes());
            }
            drop(messages);
            tracing::warn!(channel = %self.channel, "redis config watch lost its connection; reconnecting");
            let mut backoff = Duration::from_millis(100);
            pubsub = loop {
                tokio::time::sleep(backoff).await;
                match subscribe(&self.client, &self.channel, self.timeout).await {
                    Ok(p) => break p,
                    Err(e) => {
                        tracing::warn!(channel = %self.channel, "redis config watch cannot reconnect: {e}");
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            };
            // Changes made while disconnected were not seen: the owner reads again.
            self.feed.lagged();
        }
    }

    fn deliver(&self, payload: &[u8]) {
        let Ok(p) = serde_json::from_slice::<Published>(payload) else {
            tracing::warn!(channel = %self.channel, "redis config watch: an unreadable message was ignored");
            return;
        };
        if !p.k.starts_with(&self.full_prefix) {
            return;
        }
        self.feed.push(ConfigChange {
            key: p.k[self.store_prefix..].to_owned(),
            value: p.v,
            old: p.o,
        });
    }
}

impl ConfigStore for RedisConfigStore {
    fn get<'a>(&'a self, key: &'a str) -> CoordFuture<'a, Option<String>> {
        Box::pin(self.get_async(key))
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> CoordFuture<'a, ()> {
        Box::pin(async move { self.write("set", SET, key, Some(value)).await.map(drop) })
    }

    fn create<'a>(&'a self, key: &'a str, value: &'a str) -> CoordFuture<'a, bool> {
        Box::pin(self.write("create", CREATE, key, Some(value)))
    }

    fn delete<'a>(&'a self, key: &'a str) -> CoordFuture<'a, bool> {
        Box::pin(self.write("delete", DELETE, key, None))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> CoordFuture<'a, Vec<(String, String)>> {
        Box::pin(self.list_async(prefix))
    }

    fn watch<'a>(&'a self, prefix: &'a str, feed: Arc<ChangeFeed>) -> CoordFuture<'a, Watching> {
        Box::pin(self.watch_async(prefix, feed))
    }

    fn close(&self) {
        self.conn.close();
    }
}

#[cfg(test)]
mod unit {
    use super::scan_pattern;

    #[test]
    fn scan_patterns_match_the_prefix_literally() {
        assert_eq!(scan_pattern("nebula:/config/a"), "nebula:/config/a*");
        assert_eq!(scan_pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
    }
}
