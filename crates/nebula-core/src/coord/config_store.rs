//! Config values shared by the nodes of a service (DynamicConfigPlugin):
//! a key-value store with a watch. Values are opaque strings (the plugin
//! writes EJSON text, as nebula-engine writes to etcd).
//!
//! [`ConfigStore`] reads, writes, creates (only if absent), deletes and
//! lists by prefix; [`ConfigStore::watch`] delivers every change under a
//! prefix (made by any node, this one included) to a [`ChangeFeed`], with
//! the value before the change where the backend knows it. Three backends,
//! one file each: in process ([`LocalConfigStore`]), Redis
//! ([`RedisConfigStore`]: plain keys, a Lua script writes and PUBLISHes in
//! one step) and NATS ([`NatsConfigStore`]: a JetStream KV bucket and its
//! watch).
use std::sync::Arc;

use serde_json::Value;

use super::{ChangeFeed, LocalConfigStore, NatsConfigStore, RedisConfigStore};
use super::{CoordConfig, CoordConfigError, CoordError, CoordFuture, OpFailure, Result, MAX_KEY};

/// Largest value accepted (bytes); NATS' default message limit is 1 MiB.
pub const MAX_VALUE: usize = 512 * 1024;
/// The NATS bucket of config values when the options name none.
pub const DEFAULT_CONFIG_BUCKET: &str = "nebula_config";

/// One change seen by a watch: `value` None when the key was deleted;
/// `old` None when the key had no value before (or the backend could not
/// tell, see each backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    pub key: String,
    pub value: Option<String>,
    pub old: Option<String>,
}

/// A running watch: dropping it ends the watch.
pub struct Watching {
    stop: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Watching {
    pub fn new(stop: impl FnOnce() + Send + Sync + 'static) -> Watching {
        Watching {
            stop: Some(Box::new(stop)),
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// Values by key, and a watch on prefixes. Keys are relative to the
/// store's own prefix (the `prefix` option).
pub trait ConfigStore: Send + Sync {
    /// The value of `key`, None when absent.
    fn get<'a>(&'a self, key: &'a str) -> CoordFuture<'a, Option<String>>;
    /// Writes `value` (watchers see the change, even to the same value).
    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> CoordFuture<'a, ()>;
    /// Writes `value` only if `key` has none; true when written.
    fn create<'a>(&'a self, key: &'a str, value: &'a str) -> CoordFuture<'a, bool>;
    /// Deletes `key`; true when it had a value.
    fn delete<'a>(&'a self, key: &'a str) -> CoordFuture<'a, bool>;
    /// Every key starting with `prefix` (may be empty), with its value, sorted by key.
    fn list<'a>(&'a self, prefix: &'a str) -> CoordFuture<'a, Vec<(String, String)>>;
    /// Delivers the changes of keys starting with `prefix` to `feed` until
    /// the returned [`Watching`] is dropped. Resolves once the watch is
    /// running: a change made after that is delivered.
    fn watch<'a>(&'a self, prefix: &'a str, feed: Arc<ChangeFeed>) -> CoordFuture<'a, Watching>;
    /// Drops the connection (a later operation connects again).
    fn close(&self) {}
}

/// Checks a key (and a value) every backend shares.
pub(crate) fn check_entry(
    backend: &'static str,
    op: &'static str,
    key: &str,
    value: Option<&str>,
) -> Result<()> {
    let fail = |m: &'static str| Err(CoordError::new(backend, op, key, OpFailure::BadArgument(m)));
    if key.is_empty() || key.len() > MAX_KEY {
        return fail("the key must be 1 to 512 bytes");
    }
    if value.is_some_and(|v| v.len() > MAX_VALUE) {
        return fail("the value must be at most 512 KiB");
    }
    Ok(())
}

/// Checks a list or watch prefix (may be empty).
pub(crate) fn check_prefix(backend: &'static str, op: &'static str, prefix: &str) -> Result<()> {
    if prefix.len() > MAX_KEY {
        return Err(CoordError::new(
            backend,
            op,
            prefix,
            OpFailure::BadArgument("the prefix must be at most 512 bytes"),
        ));
    }
    Ok(())
}

impl CoordConfig {
    /// Reads the `coordinator` option of DynamicConfigPlugin: as the leases'
    /// (see [`CoordConfig::from_json`]) but NATS' default bucket is
    /// [`DEFAULT_CONFIG_BUCKET`].
    pub fn config_store_from_json(
        options: &Value,
    ) -> std::result::Result<CoordConfig, CoordConfigError> {
        let mut config = CoordConfig::from_json(options)?;
        let named = options.get("bucket").is_some_and(|b| !b.is_null());
        if let CoordConfig::Nats { bucket, .. } = &mut config {
            if !named {
                *bucket = DEFAULT_CONFIG_BUCKET.to_owned();
            }
        }
        Ok(config)
    }

    /// The config store (no connection yet: the first operation connects).
    /// A local store is the process-wide one when `shared`, else its own.
    pub fn build_config_store(
        &self,
    ) -> std::result::Result<Arc<dyn ConfigStore>, CoordConfigError> {
        Ok(match self {
            CoordConfig::Local { prefix, shared } => Arc::new(if *shared {
                LocalConfigStore::shared(prefix)
            } else {
                LocalConfigStore::new(prefix)
            }),
            CoordConfig::Redis {
                url,
                prefix,
                timeout,
            } => Arc::new(RedisConfigStore::new(url, prefix, *timeout)?),
            CoordConfig::Nats {
                url,
                bucket,
                prefix,
                timeout,
            } => Arc::new(NatsConfigStore::new(url, bucket, prefix, *timeout)),
        })
    }
}
