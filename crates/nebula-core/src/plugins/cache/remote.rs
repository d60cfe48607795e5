//! The Redis store: entries shared by every process that uses the same
//! Redis and prefix. One multiplexed connection per plugin (redis'
//! `ConnectionManager`, which reconnects by itself), made on first use.
//!
//! Every operation is bounded by `timeout`; a failure is a cache miss (and a
//! warning at most every 10 s), never an error for the request. Writes from
//! a layer's `after` run as spawned tasks, at most [`MAX_PENDING_WRITES`] at
//! once (more are dropped); [`RemoteStore::flush`] waits for them.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{Notify, OnceCell, Semaphore};

use super::entry::{decode, Entry};
use crate::plugins::error::{PluginError, RemoteError};

/// Spawned writes in flight at most.
pub const MAX_PENDING_WRITES: usize = 1024;
/// Largest encoded entry written to Redis.
pub const MAX_REMOTE_ENTRY: usize = 16 * 1024 * 1024;
/// After a failed connection attempt, operations miss at once for this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);
const WARN_EVERY_MS: u64 = 10_000;
const SCAN_COUNT: usize = 1000;

/// A Redis-backed store of encoded entries.
pub struct RemoteStore {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    conn: OnceCell<ConnectionManager>,
    failed_at: Mutex<Option<Instant>>,
    connecting: AtomicBool,
    pending: AtomicUsize,
    idle: Notify,
    slots: Arc<Semaphore>,
    runtime: OnceLock<tokio::runtime::Handle>,
    created: Instant,
    warned_at: AtomicU64,
}

impl RemoteStore {
    /// Checks the URL (no connection yet).
    pub fn new(url: &str, prefix: String, timeout: Duration) -> Result<RemoteStore, PluginError> {
        let client = redis::Client::open(url).map_err(PluginError::RedisUrl)?;
        Ok(RemoteStore {
            client,
            prefix,
            timeout,
            conn: OnceCell::new(),
            failed_at: Mutex::new(None),
            connecting: AtomicBool::new(false),
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            slots: Arc::new(Semaphore::new(MAX_PENDING_WRITES)),
            runtime: OnceLock::new(),
            created: Instant::now(),
            warned_at: AtomicU64::new(0),
        })
    }

    /// The Redis key of a cache key.
    pub fn redis_key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.len());
        k.push_str(&self.prefix);
        k.push_str(key);
        k
    }

    /// Remembers the tokio runtime (called where one runs), so writes can be
    /// spawned from threads outside it (a layer called from JavaScript).
    pub fn note_runtime(&self) {
        if self.runtime.get().is_none() {
            if let Ok(h) = tokio::runtime::Handle::try_current() {
                let _ = self.runtime.set(h);
            }
        }
    }

    fn warn(&self, what: &str, err: &dyn std::fmt::Display) {
        // Milliseconds since creation, plus one so that 0 means "never warned".
        let now = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1;
        let last = self.warned_at.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= WARN_EVERY_MS)
            && self
                .warned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(error = %err, "cache: redis {what} failed (treated as a miss)");
        }
    }

    /// The connection, made on first use; None while Redis is unreachable.
    pub async fn connection(&self) -> Option<ConnectionManager> {
        self.note_runtime();
        if let Some(c) = self.conn.get() {
            return Some(c.clone());
        }
        if self
            .failed_at
            .lock()
            .is_some_and(|t| t.elapsed() < RETRY_AFTER)
        {
            return None;
        }
        // One attempt at a time: the others miss rather than wait for it.
        if self.connecting.swap(true, Ordering::AcqRel) {
            return None;
        }
        let _attempt = Attempt(&self.connecting);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(2);
        let made = self
            .conn
            .get_or_try_init(|| async {
                match tokio::time::timeout(
                    self.timeout,
                    ConnectionManager::new_with_config(self.client.clone(), config),
                )
                .await
                {
                    Ok(Ok(c)) => Ok(c),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no connection within {:?}", self.timeout)),
                }
            })
            .await;
        match made {
            Ok(c) => Some(c.clone()),
            Err(e) => {
                *self.failed_at.lock() = Some(Instant::now());
                self.warn("connection", &e);
                None
            }
        }
    }

    /// Runs one command within the timeout.
    async fn query<T: redis::FromRedisValue>(&self, what: &str, cmd: redis::Cmd) -> Option<T> {
        let mut conn = self.connection().await?;
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                self.warn(what, &e);
                None
            }
            Err(_) => {
                self.warn(what, &format!("no answer within {:?}", self.timeout));
                None
            }
        }
    }

    /// The entry under `key`, if Redis has a readable one.
    pub async fn get(&self, key: &str) -> Option<Entry> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.redis_key(key));
        let bytes: Option<Vec<u8>> = self.query("GET", cmd).await?;
        decode(key, &bytes?).ok()
    }

    /// Writes an encoded entry with a TTL in ms; true when Redis took it.
    pub async fn set(&self, key: &str, bytes: Vec<u8>, ttl_ms: u64) -> bool {
        if bytes.len() > MAX_REMOTE_ENTRY || ttl_ms == 0 {
            return false;
        }
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.redis_key(key))
            .arg(bytes)
            .arg("PX")
            .arg(ttl_ms);
        self.query::<()>("SET", cmd).await.is_some()
    }

    /// Starts a write without waiting for it (from a layer's `after`).
    /// Dropped when too many are pending or no runtime is known yet.
    pub fn spawn_set(self: &Arc<Self>, key: String, bytes: Vec<u8>, ttl_ms: u64) {
        let handle = match tokio::runtime::Handle::try_current() {
            Ok(h) => h,
            Err(_) => match self.runtime.get() {
                Some(h) => h.clone(),
                None => return,
            },
        };
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            self.warn("SET", &"too many writes pending; one was dropped");
            return;
        };
        self.pending.fetch_add(1, Ordering::AcqRel);
        let store = self.clone();
        handle.spawn(async move {
            store.set(&key, bytes, ttl_ms).await;
            drop(permit);
            if store.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                store.idle.notify_waiters();
            }
        });
    }

    /// Waits until the writes started so far are done (at most `timeout`);
    /// true if none is left.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.pending.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return false;
            }
        }
    }

    /// Deletes one key; true if it existed.
    pub async fn remove(&self, key: &str) -> bool {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.redis_key(key));
        self.query::<u64>("DEL", cmd).await.unwrap_or(0) > 0
    }

    /// Deletes every key under the prefix (SCAN + UNLINK in batches).
    pub async fn clear(&self) -> Result<u64, RemoteError> {
        let mut conn = self.connection().await.ok_or(RemoteError::Unreachable)?;
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        let mut removed = 0u64;
        loop {
            let scan = scan_cmd(cursor, &pattern);
            let (next, keys): (u64, Vec<Vec<u8>>) =
                self.bounded(scan.query_async(&mut conn)).await?;
            if !keys.is_empty() {
                let mut unlink = redis::cmd("UNLINK");
                unlink.arg(keys);
                removed += self.bounded::<u64>(unlink.query_async(&mut conn)).await?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// The readable entries under the prefix (SCAN + MGET in batches), at
    /// most `limit` of them, in Redis's order.
    pub async fn entries(&self, limit: usize) -> Result<Vec<Entry>, RemoteError> {
        let mut conn = self.connection().await.ok_or(RemoteError::Unreachable)?;
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        let mut found = Vec::new();
        loop {
            let scan = scan_cmd(cursor, &pattern);
            let (next, keys): (u64, Vec<String>) =
                self.bounded(scan.query_async(&mut conn)).await?;
            if !keys.is_empty() {
                let mut mget = redis::cmd("MGET");
                mget.arg(&keys);
                let values: Vec<Option<Vec<u8>>> =
                    self.bounded(mget.query_async(&mut conn)).await?;
                for (redis_key, value) in keys.iter().zip(values) {
                    let (Some(key), Some(bytes)) = (redis_key.strip_prefix(&self.prefix), value)
                    else {
                        continue;
                    };
                    if let Ok(entry) = decode(key, &bytes) {
                        found.push(entry);
                        if found.len() >= limit {
                            return Ok(found);
                        }
                    }
                }
            }
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    async fn bounded<T>(
        &self,
        f: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RemoteError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(RemoteError::Timeout(self.timeout)),
        }
    }
}

/// Clears the "connecting" flag however the attempt ends (even if its future is dropped).
struct Attempt<'a>(&'a AtomicBool);

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// `SCAN cursor MATCH pattern COUNT SCAN_COUNT`: one batch of a walk over the keys.
fn scan_cmd(cursor: u64, pattern: &str) -> redis::Cmd {
    let mut scan = redis::cmd("SCAN");
    scan.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(SCAN_COUNT);
    scan
}

/// Escapes glob characters so MATCH takes the prefix literally.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::glob_escape;

    #[test]
    fn escapes_glob_characters_of_the_prefix() {
        assert_eq!(glob_escape("cache:"), "cache:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
