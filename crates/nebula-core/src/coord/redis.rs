//! Leases in Redis: `SET key owner NX PX ttl` takes a key; Lua scripts
//! compare the holder before `PEXPIRE` (renew) or `DEL` (release), so a
//! lease that expired and was taken by another node is never touched.
//! Redis keeps the TTL itself (its own clock): nodes' clocks do not matter.
//!
//! One multiplexed connection (redis' `ConnectionManager`, which reconnects
//! by itself), made by the first operation. Every operation, connecting
//! included, is bounded by `timeout`; a failure is an error.
use std::time::Duration;

use super::redis_conn::{LazyConnection, OnDropped};
use super::{check_args, ttl_ms, CoordConfigError, CoordFuture, Coordinator, Result};

const BACKEND: &str = "redis";

/// `PEXPIRE` only if KEYS[1] still holds ARGV[1]; 1 when renewed.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/// `DEL` only if KEYS[1] still holds ARGV[1]; 1 when deleted.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('DEL', KEYS[1]) else return 0 end";

/// Checks a Redis URL without connecting.
pub fn check_url(url: &str) -> std::result::Result<(), String> {
    if url.starts_with("rediss://") {
        return Err("TLS (rediss://) is not supported".into());
    }
    redis::Client::open(url)
        .map(drop)
        .map_err(|e| format!("invalid redis url {url:?}: {e}"))
}

pub struct RedisCoordinator {
    prefix: String,
    conn: LazyConnection,
}

impl RedisCoordinator {
    /// Checks the URL (no connection yet).
    pub fn new(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> std::result::Result<Self, CoordConfigError> {
        check_url(url)?;
        Ok(RedisCoordinator {
            prefix: prefix.to_owned(),
            conn: LazyConnection::open(url, timeout)?,
        })
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn acquire_async(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool> {
        check_args(BACKEND, "acquire", key, owner)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.full_key(key))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms(ttl));
        // "OK" when set, nil when the key exists.
        let set: Option<String> = self.conn.run("acquire", key, cmd, OnDropped::Fail).await?;
        Ok(set.is_some())
    }

    async fn compare(
        &self,
        op: &'static str,
        script: &str,
        key: &str,
        owner: &str,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        check_args(BACKEND, op, key, owner)?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(1).arg(self.full_key(key)).arg(owner);
        if let Some(ttl) = ttl {
            cmd.arg(ttl_ms(ttl));
        }
        let n: i64 = self.conn.run(op, key, cmd, OnDropped::Fail).await?;
        Ok(n == 1)
    }
}

impl Coordinator for RedisCoordinator {
    fn acquire<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CoordFuture<'a, bool> {
        Box::pin(self.acquire_async(key, owner, ttl))
    }

    fn renew<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CoordFuture<'a, bool> {
        Box::pin(self.compare("renew", RENEW, key, owner, Some(ttl)))
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> CoordFuture<'a, bool> {
        Box::pin(self.compare("release", RELEASE, key, owner, None))
    }

    fn close(&self) {
        self.conn.close();
    }
}
