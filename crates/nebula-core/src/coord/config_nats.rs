//! Config values in a NATS JetStream KV bucket (default `nebula_config`,
//! created if missing, one revision kept per key). Keys are written as the
//! leases' are ([`super::nats::kv_key`]: characters KV refuses become
//! `=XX`), values as they are.
//!
//! A watch follows the whole bucket (`watch_with_history(">")`): it first
//! replays the current values (kept to give each later change its old
//! value; the watch resolves once they are read), then every entry is a
//! change. When the watch ends (the server went away for longer than the
//! client's own reconnects cover) the task makes a new one, backing off up
//! to 5 s, and marks the feed lagged.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use futures_util::StreamExt;

use super::config_store::{check_entry, check_prefix};
use super::nats::kv_key;
use super::{
    ChangeFeed, ConfigChange, ConfigStore, CoordFuture, NatsCoordinator, Result, Watching,
};

const BACKEND: &str = "nats";
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The key [`kv_key`] wrote (None for a key it cannot have written).
pub fn key_of_kv(k: &str) -> Option<String> {
    let bytes = k.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = k.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn text(value: &[u8]) -> std::result::Result<String, String> {
    String::from_utf8(value.to_vec()).map_err(|_| "the stored value is not UTF-8 text".to_owned())
}

pub struct NatsConfigStore {
    /// The connection and the bucket, as the leases make them.
    conn: Arc<NatsCoordinator>,
    prefix: String,
    timeout: Duration,
}

impl NatsConfigStore {
    /// No connection yet: the first operation connects (and creates the bucket).
    pub fn new(url: &str, bucket: &str, prefix: &str, timeout: Duration) -> NatsConfigStore {
        NatsConfigStore {
            conn: Arc::new(
                NatsCoordinator::new(url, bucket, prefix, timeout)
                    .described("nebula-native config"),
            ),
            prefix: prefix.to_owned(),
            timeout,
        }
    }

    /// Runs `f` on the bucket within the timeout (connecting included).
    async fn bounded<T, F, Fut>(&self, op: &'static str, key: &str, f: F) -> Result<T>
    where
        F: FnOnce(kv::Store) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, String>>,
    {
        self.conn.on_store(op, key, f).await
    }

    fn kv(&self, key: &str) -> String {
        kv_key(&format!("{}{key}", self.prefix))
    }

    async fn get_async(&self, key: &str) -> Result<Option<String>> {
        check_entry(BACKEND, "get", key, None)?;
        let k = self.kv(key);
        self.bounded("get", key, |store| async move {
            match store.get(k).await.map_err(|e| e.to_string())? {
                Some(v) => text(&v).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn set_async(&self, key: &str, value: &str) -> Result<()> {
        check_entry(BACKEND, "set", key, Some(value))?;
        let (k, v) = (self.kv(key), bytes::Bytes::from(value.to_owned()));
        self.bounded("set", key, |store| async move {
            store.put(k, v).await.map(drop).map_err(|e| e.to_string())
        })
        .await
    }

    async fn create_async(&self, key: &str, value: &str) -> Result<bool> {
        check_entry(BACKEND, "create", key, Some(value))?;
        let (k, v) = (self.kv(key), bytes::Bytes::from(value.to_owned()));
        self.bounded("create", key, |store| async move {
            match store.create(k, v).await {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
    }

    async fn delete_async(&self, key: &str) -> Result<bool> {
        check_entry(BACKEND, "delete", key, None)?;
        let k = self.kv(key);
        self.bounded("delete", key, |store| async move {
            if store
                .get(k.clone())
                .await
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Ok(false);
            }
            store.delete(k).await.map_err(|e| e.to_string())?;
            Ok(true)
        })
        .await
    }

    async fn list_async(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        check_prefix(BACKEND, "list", prefix)?;
        let full = format!("{}{prefix}", self.prefix);
        let strip = self.prefix.len();
        self.bounded("list", prefix, |store| async move {
            let mut keys = store.keys().await.map_err(|e| e.to_string())?;
            let mut wanted = Vec::new();
            while let Some(k) = keys.next().await {
                let k = k.map_err(|e| e.to_string())?;
                if let Some(key) = key_of_kv(&k).filter(|key| key.starts_with(&full)) {
                    wanted.push((k, key));
                }
            }
            let mut out = Vec::with_capacity(wanted.len());
            for (k, key) in wanted {
                // Deleted since the listing: not listed.
                if let Some(v) = store.get(k).await.map_err(|e| e.to_string())? {
                    out.push((key[strip..].to_owned(), text(&v)?));
                }
            }
            out.sort();
            Ok(out)
        })
        .await
    }

    async fn watch_async(&self, prefix: &str, feed: Arc<ChangeFeed>) -> Result<Watching> {
        check_prefix(BACKEND, "watch", prefix)?;
        let full = format!("{}{prefix}", self.prefix);
        let mut watcher = Watcher {
            conn: self.conn.clone(),
            store_prefix: self.prefix.len(),
            full_prefix: full,
            feed,
            timeout: self.timeout,
            values: HashMap::new(),
        };
        let watch = self
            .bounded("watch", prefix, |store| watcher.open(store))
            .await?;
        let task = tokio::spawn(watcher.run(watch));
        Ok(Watching::new(move || task.abort()))
    }
}

struct Watcher {
    conn: Arc<NatsCoordinator>,
    store_prefix: usize,
    full_prefix: String,
    feed: Arc<ChangeFeed>,
    timeout: Duration,
    /// The current values of the watched keys (the old values of their next changes).
    values: HashMap<String, String>,
}

impl Watcher {
    /// A watch of the bucket whose replay of the current values was read into `values`.
    async fn open(&mut self, store: kv::Store) -> std::result::Result<kv::Watch, String> {
        let info = store.stream.get_info().await.map_err(|e| e.to_string())?;
        let mut watch = store
            .watch_with_history(">")
            .await
            .map_err(|e| e.to_string())?;
        self.values.clear();
        if info.state.messages == 0 {
            return Ok(watch);
        }
        // The replay ends with the entry nothing is pending after.
        while let Some(entry) = watch.next().await {
            let entry = entry.map_err(|e| e.to_string())?;
            self.read(&entry);
            if entry.delta == 0 {
                break;
            }
        }
        Ok(watch)
    }

    async fn run(mut self, mut watch: kv::Watch) {
        loop {
            while let Some(entry) = watch.next().await {
                match entry {
                    Ok(entry) => {
                        if let Some(change) = self.read(&entry) {
                            self.feed.push(change);
                        }
                    }
                    Err(e) => tracing::warn!("nats config watch: {e}"),
                }
            }
            tracing::warn!("nats config watch ended; watching again");
            let mut backoff = Duration::from_millis(100);
            watch = loop {
                tokio::time::sleep(backoff).await;
                let timeout = self.timeout;
                let conn = self.conn.clone();
                let again = async {
                    let store = conn.kv_store().await.map_err(|e| e.to_string())?;
                    self.open(store).await
                };
                match tokio::time::timeout(timeout, again).await {
                    Ok(Ok(w)) => break w,
                    Ok(Err(e)) => tracing::warn!("nats config watch cannot start again: {e}"),
                    Err(_) => {
                        tracing::warn!("nats config watch cannot start again within {timeout:?}")
                    }
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            };
            // Changes made meanwhile were missed: the owner reads again.
            self.feed.lagged();
        }
    }

    /// Records an entry of a watched key; the change it makes (None for
    /// another key, or deleting what was not there).
    fn read(&mut self, entry: &kv::Entry) -> Option<ConfigChange> {
        let key = key_of_kv(&entry.key).filter(|k| k.starts_with(&self.full_prefix))?;
        let value = match entry.operation {
            Operation::Put => match text(&entry.value) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(key = %key, "nats config watch: {e}; ignored");
                    return None;
                }
            },
            Operation::Delete | Operation::Purge => None,
        };
        let old = match &value {
            Some(v) => self.values.insert(key.clone(), v.clone()),
            None => self.values.remove(&key),
        };
        if value.is_none() && old.is_none() {
            return None;
        }
        Some(ConfigChange {
            key: key[self.store_prefix..].to_owned(),
            value,
            old,
        })
    }
}

impl ConfigStore for NatsConfigStore {
    fn get<'a>(&'a self, key: &'a str) -> CoordFuture<'a, Option<String>> {
        Box::pin(self.get_async(key))
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> CoordFuture<'a, ()> {
        Box::pin(self.set_async(key, value))
    }

    fn create<'a>(&'a self, key: &'a str, value: &'a str) -> CoordFuture<'a, bool> {
        Box::pin(self.create_async(key, value))
    }

    fn delete<'a>(&'a self, key: &'a str) -> CoordFuture<'a, bool> {
        Box::pin(self.delete_async(key))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> CoordFuture<'a, Vec<(String, String)>> {
        Box::pin(self.list_async(prefix))
    }

    fn watch<'a>(&'a self, prefix: &'a str, feed: Arc<ChangeFeed>) -> CoordFuture<'a, Watching> {
        Box::pin(self.watch_async(prefix, feed))
    }

    fn close(&self) {
        super::Coordinator::close(self.conn.as_ref());
    }
}

#[cfg(test)]
mod unit {
    use super::{key_of_kv, kv_key};

    #[test]
    fn kv_keys_read_back() {
        for k in ["/config/svc/mod/MAX", "a=b.c d", "é/ü", ""] {
            assert_eq!(key_of_kv(&kv_key(k)).as_deref(), Some(k));
        }
        assert_eq!(key_of_kv("=Z1"), None);
        assert_eq!(key_of_kv("a="), None);
    }
}
