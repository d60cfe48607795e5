//! Leases in a NATS JetStream KV bucket (default `nebula_leases`, created
//! if missing, one revision kept per key). A lease is the JSON value
//! `{"owner", "expiresAt"}` (ms since the epoch, by the writer's clock).
//!
//! - acquire: `create` (fails if the key exists); else read the entry and,
//!   when it is deleted or expired by this node's clock, take it over with
//!   `update(key, value, revision)`: of two nodes racing, one revision wins.
//! - renew: read, check owner and expiry, `update` with the revision read.
//! - release: read, check owner, `delete_expect_revision`.
//!
//! The server (2.9 here) has no per-message TTL, so expiry is decided by the
//! readers' clocks: a node whose clock runs ahead takes over early. Keep
//! clocks in sync (NTP) and the skew well below the lease TTL.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use async_nats::jetstream::stream;
use serde::{Deserialize, Serialize};

use super::{check_args, ttl_ms, CoordError, CoordFuture, Coordinator, OpFailure, Result};

const BACKEND: &str = "nats";

/// Checks a server URL (or a comma-separated list) without connecting.
pub fn check_url(url: &str) -> std::result::Result<(), String> {
    if url.trim().is_empty() {
        return Err("empty".into());
    }
    for part in url.split(',') {
        part.trim()
            .parse::<async_nats::ServerAddr>()
            .map_err(|e| format!("{part:?}: {e}"))?;
    }
    Ok(())
}

/// Bucket names: letters, digits, `_` and `-`.
pub fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    let ok = !bucket.is_empty()
        && bucket.len() <= 64
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{bucket:?} must be 1 to 64 letters, digits, '_' or '-'"
        ))
    }
}

/// KV keys allow `[-/_=.a-zA-Z0-9]`: anything else (and `=`, `.`) is
/// written `=XX` per UTF-8 byte, so every key maps to a distinct valid one.
pub fn kv_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'/' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

#[derive(Serialize, Deserialize)]
struct Lease {
    owner: String,
    #[serde(rename = "expiresAt")]
    expires_at: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn lease_value(owner: &str, ttl: Duration) -> bytes::Bytes {
    let lease = Lease {
        owner: owner.to_owned(),
        expires_at: now_ms().saturating_add(ttl_ms(ttl)),
    };
    // Serializing a struct of a string and a number cannot fail.
    bytes::Bytes::from(serde_json::to_vec(&lease).unwrap_or_default())
}

/// The live lease of an entry: None when deleted, unreadable or expired.
fn live(entry: &kv::Entry) -> Option<Lease> {
    if entry.operation != Operation::Put {
        return None;
    }
    serde_json::from_slice::<Lease>(&entry.value)
        .ok()
        .filter(|l| l.expires_at > now_ms())
}

pub struct NatsCoordinator {
    url: String,
    bucket: String,
    prefix: String,
    timeout: Duration,
    /// The bucket's description, when this node creates it.
    description: &'static str,
    store: tokio::sync::Mutex<Option<kv::Store>>,
}

impl NatsCoordinator {
    /// No connection yet: the first operation connects (and creates the bucket).
    pub fn new(url: &str, bucket: &str, prefix: &str, timeout: Duration) -> NatsCoordinator {
        NatsCoordinator {
            url: url.to_owned(),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            timeout,
            description: "nebula-native leases",
            store: tokio::sync::Mutex::new(None),
        }
    }

    /// The same connection, for another use of a bucket (the config store's).
    pub(crate) fn described(mut self, description: &'static str) -> NatsCoordinator {
        self.description = description;
        self
    }

    /// The bucket, connected (and created) on first use.
    pub(crate) async fn kv_store(&self) -> std::result::Result<kv::Store, OpFailure> {
        self.store().await
    }

    async fn connect(&self) -> std::result::Result<kv::Store, OpFailure> {
        let client = async_nats::ConnectOptions::new()
            .name("nebula-coordinator")
            .connection_timeout(self.timeout)
            .request_timeout(Some(self.timeout))
            .connect(self.url.as_str())
            .await
            .map_err(|e| OpFailure::Connect(format!("cannot connect to {}: {e}", self.url)))?;
        let js = async_nats::jetstream::new(client);
        if let Ok(store) = js.get_key_value(self.bucket.as_str()).await {
            return Ok(store);
        }
        // The stream `create_key_value` would make (one revision per key),
        // created directly: that helper first reads the account info, whose
        // reply from a 2.9 server async-nats 0.51 cannot parse.
        let config = stream::Config {
            name: format!("KV_{}", self.bucket),
            description: Some(self.description.into()),
            subjects: vec![format!("$KV.{}.>", self.bucket)],
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            num_replicas: 1,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        let created = js.create_stream(config).await.err();
        // Created now, or by another node meanwhile.
        js.get_key_value(self.bucket.as_str()).await.map_err(|e| {
            let why = created.map_or_else(|| e.to_string(), |c| c.to_string());
            OpFailure::Connect(format!(
                "cannot create the KV bucket {:?} (is JetStream enabled, nats-server -js?): {why}",
                self.bucket
            ))
        })
    }

    /// The bucket, connected on first use (one attempt at a time).
    async fn store(&self) -> std::result::Result<kv::Store, OpFailure> {
        let mut slot = self.store.lock().await;
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let store = self.connect().await?;
        *slot = Some(store.clone());
        Ok(store)
    }

    /// Runs `f` on the bucket within the timeout (connecting included).
    async fn bounded<T, F, Fut>(&self, op: &'static str, key: &str, f: F) -> Result<T>
    where
        F: FnOnce(kv::Store, String) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, String>>,
    {
        let k = kv_key(&format!("{}{key}", self.prefix));
        self.on_store(op, key, |store| f(store, k)).await
    }

    /// Runs `f` on the bucket within the timeout (connecting included); the
    /// config store's operations too.
    pub(crate) async fn on_store<T, F, Fut>(&self, op: &'static str, key: &str, f: F) -> Result<T>
    where
        F: FnOnce(kv::Store) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, String>>,
    {
        let work = async {
            let store = self.store().await?;
            f(store).await.map_err(OpFailure::Backend)
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r.map_err(|reason| CoordError::new(BACKEND, op, key, reason)),
            Err(_) => Err(CoordError::new(
                BACKEND,
                op,
                key,
                OpFailure::Timeout(self.timeout),
            )),
        }
    }

    async fn acquire_async(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool> {
        check_args(BACKEND, "acquire", key, owner)?;
        let value = lease_value(owner, ttl);
        self.bounded("acquire", key, move |store, k| async move {
            match store.create(&k, value.clone()).await {
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.to_string()),
            }
            let Some(entry) = store.entry(&k).await.map_err(|e| e.to_string())? else {
                // Deleted and purged meanwhile: somebody else's turn; try again later.
                return Ok(false);
            };
            if live(&entry).is_some() {
                return Ok(false);
            }
            cas(&store, &k, value, entry.revision).await
        })
        .await
    }

    async fn renew_async(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool> {
        check_args(BACKEND, "renew", key, owner)?;
        let value = lease_value(owner, ttl);
        let owner = owner.to_owned();
        self.bounded("renew", key, move |store, k| async move {
            let Some(entry) = store.entry(&k).await.map_err(|e| e.to_string())? else {
                return Ok(false);
            };
            if live(&entry).is_none_or(|l| l.owner != owner) {
                return Ok(false);
            }
            cas(&store, &k, value, entry.revision).await
        })
        .await
    }

    async fn release_async(&self, key: &str, owner: &str) -> Result<bool> {
        check_args(BACKEND, "release", key, owner)?;
        let owner = owner.to_owned();
        self.bounded("release", key, move |store, k| async move {
            let Some(entry) = store.entry(&k).await.map_err(|e| e.to_string())? else {
                return Ok(false);
            };
            if live(&entry).is_none_or(|l| l.owner != owner) {
                return Ok(false);
            }
            match store.delete_expect_revision(&k, Some(entry.revision)).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
    }
}

/// Writes `value` if the key is still at `revision`; false when another write came first.
async fn cas(
    store: &kv::Store,
    k: &str,
    value: bytes::Bytes,
    revision: u64,
) -> std::result::Result<bool, String> {
    match store.update(k, value, revision).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

impl Coordinator for NatsCoordinator {
    fn acquire<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CoordFuture<'a, bool> {
        Box::pin(self.acquire_async(key, owner, ttl))
    }

    fn renew<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CoordFuture<'a, bool> {
        Box::pin(self.renew_async(key, owner, ttl))
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> CoordFuture<'a, bool> {
        Box::pin(self.release_async(key, owner))
    }

    fn close(&self) {
        if let Ok(mut slot) = self.store.try_lock() {
            slot.take();
        }
    }
}

#[cfg(test)]
mod unit {
    use super::{check_bucket, check_url, kv_key};

    #[test]
    fn keys_map_to_distinct_valid_kv_keys() {
        assert_eq!(kv_key("schedule:Jobs.tick"), "schedule=3AJobs=2Etick");
        assert_eq!(kv_key("a=b"), "a=3Db");
        assert_ne!(kv_key("a:b"), kv_key("a=3Ab"));
        assert_eq!(kv_key("é"), "=C3=A9");
    }

    #[test]
    fn urls_and_buckets_are_checked() {
        assert!(check_url("nats://127.0.0.1:4222").is_ok());
        assert!(check_url("nats://a:1,nats://b:2").is_ok());
        assert!(check_url("").is_err());
        assert!(check_url("http://x:1").is_err());
        assert!(check_bucket("nebula_leases").is_ok());
        assert!(check_bucket("a.b").is_err());
        assert!(check_bucket("").is_err());
    }
}
