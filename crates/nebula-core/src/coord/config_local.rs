//! Config values in this process: a sorted map and the watches on it,
//! behind one lock, so every watch sees the changes in the order they were
//! made. [`LocalConfigStore::shared`] is one map for the whole process: two
//! engines (or two plugins) in one process see each other's changes, as
//! nodes sharing Redis would. [`LocalConfigStore::new`] has its own map
//! (nebula-engine's `useMockEtcd`).
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::config_store::{check_entry, check_prefix};
use super::{ChangeFeed, ConfigChange, ConfigStore, CoordFuture, Result, Watching};

const BACKEND: &str = "local";

#[derive(Default)]
struct Table {
    values: BTreeMap<String, String>,
    watches: Vec<Watch>,
    next_id: u64,
}

/// A watch on the keys starting with `full_prefix` (its store's prefix and
/// the watched one), reported without its store's prefix.
struct Watch {
    id: u64,
    store_prefix: usize,
    full_prefix: String,
    feed: Arc<ChangeFeed>,
}

impl Table {
    /// Tells the watches of `full` (a key with its store's prefix).
    fn notify(&self, full: &str, value: Option<&str>, old: Option<String>) {
        for w in &self.watches {
            if full.starts_with(w.full_prefix.as_str()) {
                w.feed.push(ConfigChange {
                    key: full[w.store_prefix..].to_owned(),
                    value: value.map(str::to_owned),
                    old: old.clone(),
                });
            }
        }
    }
}

#[derive(Clone)]
pub struct LocalConfigStore {
    prefix: String,
    table: Arc<Mutex<Table>>,
}

impl LocalConfigStore {
    /// A map of its own.
    pub fn new(prefix: &str) -> LocalConfigStore {
        LocalConfigStore {
            prefix: prefix.to_owned(),
            table: Arc::default(),
        }
    }

    /// The process-wide map.
    pub fn shared(prefix: &str) -> LocalConfigStore {
        static SHARED: OnceLock<Arc<Mutex<Table>>> = OnceLock::new();
        LocalConfigStore {
            prefix: prefix.to_owned(),
            table: SHARED.get_or_init(Arc::default).clone(),
        }
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn get_now(&self, key: &str) -> Result<Option<String>> {
        check_entry(BACKEND, "get", key, None)?;
        Ok(self.table.lock().values.get(&self.full(key)).cloned())
    }

    fn set_now(&self, key: &str, value: &str, only_new: bool) -> Result<bool> {
        check_entry(
            BACKEND,
            if only_new { "create" } else { "set" },
            key,
            Some(value),
        )?;
        let full = self.full(key);
        let mut table = self.table.lock();
        if only_new && table.values.contains_key(&full) {
            return Ok(false);
        }
        let old = table.values.insert(full.clone(), value.to_owned());
        table.notify(&full, Some(value), old);
        Ok(true)
    }

    fn delete_now(&self, key: &str) -> Result<bool> {
        check_entry(BACKEND, "delete", key, None)?;
        let full = self.full(key);
        let mut table = self.table.lock();
        let Some(old) = table.values.remove(&full) else {
            return Ok(false);
        };
        table.notify(&full, None, Some(old));
        Ok(true)
    }

    fn list_now(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        check_prefix(BACKEND, "list", prefix)?;
        let from = self.full(prefix);
        let table = self.table.lock();
        Ok(table
            .values
            .range(from.clone()..)
            .take_while(|(k, _)| k.starts_with(&from))
            .map(|(k, v)| (k[self.prefix.len()..].to_owned(), v.clone()))
            .collect())
    }

    fn watch_now(&self, prefix: &str, feed: Arc<ChangeFeed>) -> Result<Watching> {
        check_prefix(BACKEND, "watch", prefix)?;
        let mut table = self.table.lock();
        let id = table.next_id;
        table.next_id += 1;
        table.watches.push(Watch {
            id,
            store_prefix: self.prefix.len(),
            full_prefix: self.full(prefix),
            feed,
        });
        drop(table);
        let weak = Arc::downgrade(&self.table);
        Ok(Watching::new(move || {
            if let Some(table) = weak.upgrade() {
                table.lock().watches.retain(|w| w.id != id);
            }
        }))
    }
}

impl ConfigStore for LocalConfigStore {
    fn get<'a>(&'a self, key: &'a str) -> CoordFuture<'a, Option<String>> {
        let out = self.get_now(key);
        Box::pin(async move { out })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> CoordFuture<'a, ()> {
        let out = self.set_now(key, value, false).map(drop);
        Box::pin(async move { out })
    }

    fn create<'a>(&'a self, key: &'a str, value: &'a str) -> CoordFuture<'a, bool> {
        let out = self.set_now(key, value, true);
        Box::pin(async move { out })
    }

    fn delete<'a>(&'a self, key: &'a str) -> CoordFuture<'a, bool> {
        let out = self.delete_now(key);
        Box::pin(async move { out })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> CoordFuture<'a, Vec<(String, String)>> {
        let out = self.list_now(prefix);
        Box::pin(async move { out })
    }

    fn watch<'a>(&'a self, prefix: &'a str, feed: Arc<ChangeFeed>) -> CoordFuture<'a, Watching> {
        let out = self.watch_now(prefix, feed);
        Box::pin(async move { out })
    }
}
