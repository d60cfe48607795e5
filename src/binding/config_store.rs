//! Config values for the JS face (DynamicConfigPlugin):
//! `new NativeConfigStore({ type, url?, prefix?, bucket?, timeoutMs? }, isolated?)`
//! and its `get` / `set` / `create` / `delete` / `list`, each a Promise run
//! on the addon's tokio runtime (a backend failure rejects, with its
//! context). `watcher(prefix, wake)` makes a [`NativeConfigWatch`]: after
//! `start()`, each batch of changes calls `wake()` (a weak threadsafe
//! function: it never keeps Node alive) and `take()` hands them over.
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use super::error::to_js;
use super::wake::waker;
use nebula_core::coord::{ChangeFeed, ConfigStore, CoordConfig, Watching};

/// At most this many changes (and bytes of keys and values) wait for JS;
/// beyond, the watch is marked lagged and JS reads the store again.
const FEED_ITEMS: usize = 10_000;
const FEED_BYTES: usize = 16 << 20;

#[napi]
pub struct NativeConfigStore {
    store: Arc<dyn ConfigStore>,
}

/// A key and its value, as `list` gives them.
#[napi(object)]
pub struct ConfigEntry {
    pub key: String,
    pub value: String,
}

/// A change seen by a watch: `value` null when deleted, `old` null when the
/// key had no value before.
#[napi(object)]
pub struct ConfigChangeJs {
    pub key: String,
    pub value: Option<String>,
    pub old: Option<String>,
}

/// What `take()` gives: the changes in order, and `lagged` when some were
/// missed (a full queue, a reconnect): the owner should read the store again.
#[napi(object)]
pub struct ConfigChanges {
    pub changes: Vec<ConfigChangeJs>,
    pub lagged: bool,
}

#[napi]
impl NativeConfigStore {
    /// Checks the options (errors name the option); connects on first use.
    /// A local store is the process-wide one unless `isolated` (its own map).
    #[napi(
        constructor,
        ts_args_type = "options: { type?: 'local' | 'redis' | 'nats'; url?: string; prefix?: string; bucket?: string; timeoutMs?: number }, isolated?: boolean"
    )]
    pub fn new(options: serde_json::Value, isolated: Option<bool>) -> Result<Self> {
        let mut config = CoordConfig::config_store_from_json(&options).map_err(to_js)?;
        if let (CoordConfig::Local { shared, .. }, Some(true)) = (&mut config, isolated) {
            *shared = false;
        }
        let store = config.build_config_store().map_err(to_js)?;
        Ok(NativeConfigStore { store })
    }

    /// The value of `key`, null when absent.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        key: String,
    ) -> Result<PromiseRaw<'env, Option<String>>> {
        let store = self.store.clone();
        env.spawn_future(async move { store.get(&key).await.map_err(to_js) })
    }

    /// Writes `value` (every watch of the key sees the change).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set<'env>(
        &self,
        env: &'env Env,
        key: String,
        value: String,
    ) -> Result<PromiseRaw<'env, ()>> {
        let store = self.store.clone();
        env.spawn_future(async move { store.set(&key, &value).await.map_err(to_js) })
    }

    /// Writes `value` only if `key` has none; true when written.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn create<'env>(
        &self,
        env: &'env Env,
        key: String,
        value: String,
    ) -> Result<PromiseRaw<'env, bool>> {
        let store = self.store.clone();
        env.spawn_future(async move { store.create(&key, &value).await.map_err(to_js) })
    }

    /// Deletes `key`; true when it had a value.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn delete<'env>(&self, env: &'env Env, key: String) -> Result<PromiseRaw<'env, bool>> {
        let store = self.store.clone();
        env.spawn_future(async move { store.delete(&key).await.map_err(to_js) })
    }

    /// Every key starting with `prefix`, with its value, sorted by key.
    #[napi(ts_return_type = "Promise<Array<ConfigEntry>>")]
    pub fn list<'env>(
        &self,
        env: &'env Env,
        prefix: String,
    ) -> Result<PromiseRaw<'env, Vec<ConfigEntry>>> {
        let store = self.store.clone();
        env.spawn_future(async move {
            let listed = store.list(&prefix).await.map_err(to_js)?;
            Ok(listed
                .into_iter()
                .map(|(key, value)| ConfigEntry { key, value })
                .collect())
        })
    }

    /// A watch of the keys starting with `prefix` (running after `start()`).
    #[napi(ts_args_type = "prefix: string, wake: () => void")]
    pub fn watcher(&self, prefix: String, wake: Function<(), ()>) -> Result<NativeConfigWatch> {
        let feed = ChangeFeed::new(FEED_ITEMS, FEED_BYTES, waker(wake)?);
        Ok(NativeConfigWatch {
            store: self.store.clone(),
            prefix,
            feed,
            slot: Arc::default(),
        })
    }

    /// Drops the connection (the next operation connects again).
    #[napi]
    pub fn close(&self) {
        self.store.close();
    }
}

#[derive(Default)]
struct Slot {
    watching: Option<Watching>,
    stopped: bool,
}

#[napi]
pub struct NativeConfigWatch {
    store: Arc<dyn ConfigStore>,
    prefix: String,
    feed: Arc<ChangeFeed>,
    slot: Arc<Mutex<Slot>>,
}

#[napi]
impl NativeConfigWatch {
    /// Resolves once the watch runs (a change made after it is seen); a
    /// backend that cannot be reached rejects.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn start<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let (store, prefix, feed, slot) = (
            self.store.clone(),
            self.prefix.clone(),
            self.feed.clone(),
            self.slot.clone(),
        );
        env.spawn_future(async move {
            let watching = store.watch(&prefix, feed).await.map_err(to_js)?;
            let mut slot = slot.lock();
            // Stopped meanwhile: `watching` is dropped here, which ends it.
            if !slot.stopped {
                slot.watching = Some(watching);
            }
            Ok(())
        })
    }

    /// The changes since the last take, and whether some were missed.
    #[napi]
    pub fn take(&self) -> ConfigChanges {
        let taken = self.feed.take();
        ConfigChanges {
            changes: taken
                .changes
                .into_iter()
                .map(|c| ConfigChangeJs {
                    key: c.key,
                    value: c.value,
                    old: c.old,
                })
                .collect(),
            lagged: taken.lagged,
        }
    }

    /// Ends the watch (also one still starting).
    #[napi]
    pub fn stop(&self) {
        let watching = {
            let mut slot = self.slot.lock();
            slot.stopped = true;
            slot.watching.take()
        };
        drop(watching);
    }
}
