//! Leases shared by the nodes of a service: SchedulePlugin's job leaders and
//! ConcurrencyLockPlugin's locks; and config values with a watch for
//! DynamicConfigPlugin ([`ConfigStore`], `config_*.rs`, same backends and options).
//!
//! A lease is a key held by one owner (an opaque token) until its TTL runs
//! out. [`Coordinator::acquire`] takes a free (or expired) key,
//! [`Coordinator::renew`] extends it only while the caller still holds it,
//! [`Coordinator::release`] deletes it only if the caller holds it. Three
//! backends, one file each: [`LocalCoordinator`] (in process), [`RedisCoordinator`]
//! (`SET NX PX` and Lua compare-and-set scripts) and [`NatsCoordinator`]
//! (a JetStream KV bucket with revision checks).
//!
//! Every remote operation is bounded by a timeout; a backend that does not
//! answer is an [`CoordError`], never a silent `false`: the caller decides
//! (a scheduler stops running the job, a lock refuses the call).
//!
//! May import `kernel` and `support` (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
mod config_feed;
mod config_local;
mod config_nats;
mod config_redis;
mod config_store;
#[cfg(test)]
mod config_tests;
mod error;
mod local;
mod nats;
mod redis;
mod redis_conn;
#[cfg(test)]
mod test_servers;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub use config_feed::{ChangeFeed, Taken};
pub use config_local::LocalConfigStore;
pub use config_nats::NatsConfigStore;
pub use config_redis::RedisConfigStore;
pub use config_store::{ConfigChange, ConfigStore, Watching, DEFAULT_CONFIG_BUCKET, MAX_VALUE};
pub use error::{CoordConfigError, CoordError, CronNextError, OpFailure};
pub use local::LocalCoordinator;
pub use nats::NatsCoordinator;
pub use redis::RedisCoordinator;

/// Longest key and owner accepted (bytes).
pub const MAX_KEY: usize = 512;
pub const MAX_OWNER: usize = 256;
const DEFAULT_TIMEOUT_MS: u64 = 1000;
pub const DEFAULT_BUCKET: &str = "nebula_leases";
pub const DEFAULT_REDIS_PREFIX: &str = "nebula:";

pub type Result<T> = std::result::Result<T, CoordError>;
pub type CoordFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Leases on keys. `owner` is the caller's token: only the owner renews or
/// releases. A key held by its owner is not acquired again (not even by
/// that owner) until it is released or expires.
pub trait Coordinator: Send + Sync {
    /// Takes `key` for `owner` for `ttl` if nobody holds it (or the holder's
    /// lease expired); true when taken.
    fn acquire<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CoordFuture<'a, bool>;
    /// Extends the lease to `ttl` from now if `owner` still holds it.
    fn renew<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CoordFuture<'a, bool>;
    /// Deletes the lease if `owner` holds it (compare-and-delete); true when it did.
    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> CoordFuture<'a, bool>;
    /// Drops the connection (a later operation connects again).
    fn close(&self) {}
}

/// Checks the arguments every backend shares.
pub(crate) fn check_args(
    backend: &'static str,
    op: &'static str,
    key: &str,
    owner: &str,
) -> Result<()> {
    let fail = |m: &'static str| Err(CoordError::new(backend, op, key, OpFailure::BadArgument(m)));
    if key.is_empty() || key.len() > MAX_KEY {
        return fail("the key must be 1 to 512 bytes");
    }
    if owner.is_empty() || owner.len() > MAX_OWNER {
        return fail("the owner must be 1 to 256 bytes");
    }
    Ok(())
}

/// A TTL in whole milliseconds (at least 1).
pub(crate) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Which backend, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordConfig {
    /// In this process; `shared`: one table for the whole process (every
    /// coordinator with the same prefix sees the same leases).
    Local { prefix: String, shared: bool },
    Redis {
        url: String,
        prefix: String,
        timeout: Duration,
    },
    Nats {
        url: String,
        bucket: String,
        prefix: String,
        timeout: Duration,
    },
}

impl CoordConfig {
    /// Reads `{ type: "local" | "redis" | "nats", url?, prefix?, bucket?,
    /// timeoutMs? }`; an error names the option.
    pub fn from_json(options: &Value) -> std::result::Result<CoordConfig, CoordConfigError> {
        let obj = options
            .as_object()
            .ok_or("coordinator options must be an object")?;
        let kind = match obj.get("type") {
            None | Some(Value::Null) => "local",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                return Err("coordinator type must be \"local\", \"redis\" or \"nats\"".into())
            }
        };
        let allowed: &[&str] = match kind {
            "local" => &["type", "prefix"],
            "redis" => &["type", "url", "prefix", "timeoutMs"],
            "nats" => &["type", "url", "prefix", "bucket", "timeoutMs"],
            other => {
                return Err(format!(
                    "coordinator type must be \"local\", \"redis\" or \"nats\", got {other:?}"
                )
                .into())
            }
        };
        if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!("coordinator ({kind}): unknown option {k:?}").into());
        }
        let string = |name: &str| -> std::result::Result<Option<String>, String> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("coordinator ({kind}): {name} must be a string")),
            }
        };
        let prefix = string("prefix")?;
        if prefix.as_ref().is_some_and(|p| p.len() > 128) {
            return Err(format!("coordinator ({kind}): prefix must be at most 128 bytes").into());
        }
        let timeout = crate::support::options::int_option(options, "timeoutMs", 1, 600_000)
            .map_err(|source| CoordConfigError::Option {
                kind: kind.to_owned(),
                source,
            })?
            .unwrap_or(DEFAULT_TIMEOUT_MS);
        let timeout = Duration::from_millis(timeout);
        let url = || -> std::result::Result<String, String> {
            string("url")?.ok_or_else(|| format!("coordinator ({kind}): url is required"))
        };
        match kind {
            "local" => Ok(CoordConfig::Local {
                prefix: prefix.unwrap_or_default(),
                shared: true,
            }),
            "redis" => {
                let url = url()?;
                redis::check_url(&url).map_err(|reason| CoordConfigError::Url {
                    backend: "redis",
                    reason,
                })?;
                Ok(CoordConfig::Redis {
                    url,
                    prefix: prefix.unwrap_or_else(|| DEFAULT_REDIS_PREFIX.into()),
                    timeout,
                })
            }
            _ => {
                let url = url()?;
                nats::check_url(&url).map_err(|reason| CoordConfigError::Url {
                    backend: "nats",
                    reason,
                })?;
                let bucket = string("bucket")?.unwrap_or_else(|| DEFAULT_BUCKET.into());
                nats::check_bucket(&bucket).map_err(CoordConfigError::Bucket)?;
                Ok(CoordConfig::Nats {
                    url,
                    bucket,
                    prefix: prefix.unwrap_or_default(),
                    timeout,
                })
            }
        }
    }

    /// The coordinator (no connection yet: the first operation connects).
    pub fn build(&self) -> std::result::Result<Arc<dyn Coordinator>, CoordConfigError> {
        Ok(match self {
            CoordConfig::Local { prefix, shared } => Arc::new(if *shared {
                LocalCoordinator::shared(prefix)
            } else {
                LocalCoordinator::new(prefix)
            }),
            CoordConfig::Redis {
                url,
                prefix,
                timeout,
            } => Arc::new(RedisCoordinator::new(url, prefix, *timeout)?),
            CoordConfig::Nats {
                url,
                bucket,
                prefix,
                timeout,
            } => Arc::new(NatsCoordinator::new(url, bucket, prefix, *timeout)),
        })
    }
}

/// The first time a 5-field cron expression (UTC, as the script VM's
/// `cronAdd`) matches strictly after `after_ms` (ms since the epoch).
pub fn next_cron_ms(expr: &str, after_ms: i64) -> std::result::Result<i64, CronNextError> {
    let cron = crate::support::cron::parse_cron(expr)?;
    let after = chrono::DateTime::from_timestamp_millis(after_ms)
        .ok_or(CronNextError::TimeOutOfRange(after_ms))?;
    cron.find_next_occurrence(&after, false)
        .map(|t| t.timestamp_millis())
        .map_err(|source| CronNextError::NeverMatches {
            expr: expr.to_owned(),
            after: after.to_string(),
            source,
        })
}
