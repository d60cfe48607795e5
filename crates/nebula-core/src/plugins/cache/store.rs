//! The in-memory store: sharded maps bounded by entries and by bytes,
//! entries expire by TTL, the oldest go first when a bound is reached.
//!
//! Each shard keeps its entries in insertion order (a queue of ids with a
//! generation, so a replaced entry's old place is recognised and skipped).
//! Counters are global, so the bounds hold for the whole store; eviction
//! takes the oldest entry of all shards (by insertion), never holding two
//! locks at once.
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use super::entry::Entry;

/// Milliseconds of wall-clock time (stored entries are shared with other
/// processes through Redis, so `Age` needs a common clock).
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Ids are already hashes: use their low bits as they are.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// Evictions one insert may do (each one after another insert raced it).
const MAX_EVICTION_ROUNDS: usize = 1024;

type IdMap<V> = HashMap<u128, V, BuildHasherDefault<IdHasher>>;

struct Slot {
    entry: Arc<Entry>,
    size: usize,
    gen: u64,
}

#[derive(Default)]
struct Shard {
    map: IdMap<Slot>,
    /// Insertion order: (id, generation); stale pairs are skipped.
    order: VecDeque<(u128, u64)>,
}

/// The store's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// A bounded, sharded map of entries.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    limits: Limits,
    entries: AtomicUsize,
    bytes: AtomicUsize,
    next_gen: AtomicU64,
}

impl MemoryStore {
    /// A store with `shards` shards (rounded up to a power of two, at least 1).
    pub fn new(limits: Limits, shards: usize) -> MemoryStore {
        let n = shards.max(1).next_power_of_two();
        MemoryStore {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            limits,
            entries: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            next_gen: AtomicU64::new(0),
        }
    }

    fn shard(&self, id: u128) -> &Mutex<Shard> {
        // High bits pick the shard; the map hashes with the low ones.
        let i = (id >> 64) as usize & (self.shards.len() - 1);
        &self.shards[i]
    }

    /// The fresh entry with this id, if any (a stale one is dropped).
    pub fn get(&self, id: u128, now: u64) -> Option<Arc<Entry>> {
        let mut shard = self.shard(id).lock();
        let slot = shard.map.get(&id)?;
        if slot.entry.expires_at > now {
            return Some(slot.entry.clone());
        }
        if let Some(old) = shard.map.remove(&id) {
            self.forget(old.size);
        }
        None
    }

    /// Stores `entry` under `id` (replacing any), then evicts the oldest
    /// entries until both bounds hold. An entry larger than `maxBytes` is not
    /// stored (false).
    pub fn insert(&self, id: u128, entry: Entry, now: u64) -> bool {
        let size = entry.size();
        if size > self.limits.max_bytes || self.limits.max_entries == 0 {
            return false;
        }
        let gen = self.next_gen.fetch_add(1, Ordering::Relaxed);
        {
            let mut guard = self.shard(id).lock();
            let shard = &mut *guard;
            let slot = Slot {
                entry: Arc::new(entry),
                size,
                gen,
            };
            if let Some(old) = shard.map.insert(id, slot) {
                self.forget(old.size);
            }
            self.entries.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(size, Ordering::Relaxed);
            shard.order.push_back((id, gen));
            // Expired entries at the front go now (cheap, bounded work).
            for _ in 0..2 {
                if !self.pop_front_if(shard, |slot| slot.entry.expires_at <= now) {
                    break;
                }
            }
            if shard.order.len() > 2 * shard.map.len() + 32 {
                let map = &shard.map;
                shard
                    .order
                    .retain(|(id, gen)| map.get(id).is_some_and(|s| s.gen == *gen));
            }
        }
        self.enforce();
        true
    }

    /// Removes the entry with this id; true if there was one.
    pub fn remove(&self, id: u128) -> bool {
        let mut shard = self.shard(id).lock();
        match shard.map.remove(&id) {
            Some(old) => {
                self.forget(old.size);
                true
            }
            None => false,
        }
    }

    /// Removes everything; returns how many entries there were.
    pub fn clear(&self) -> usize {
        let mut n = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            for (_, slot) in shard.map.drain() {
                self.forget(slot.size);
                n += 1;
            }
            shard.order.clear();
        }
        n
    }

    /// The fresh entries, oldest first (by insertion), at most `limit` of
    /// them. Each shard is locked on its own, so a concurrent insert may or
    /// may not be seen; stale entries are left for `get` and eviction.
    pub fn entries(&self, now: u64, limit: usize) -> Vec<Arc<Entry>> {
        let mut found: Vec<(u64, Arc<Entry>)> = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.lock();
            found.extend(
                shard
                    .map
                    .values()
                    .filter(|slot| slot.entry.expires_at > now)
                    .map(|slot| (slot.gen, slot.entry.clone())),
            );
        }
        found.sort_unstable_by_key(|(gen, _)| *gen);
        found.truncate(limit);
        found.into_iter().map(|(_, e)| e).collect()
    }

    /// Entries stored now (fresh or not yet noticed stale).
    pub fn len(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes counted now.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    fn forget(&self, size: usize) {
        self.entries.fetch_sub(1, Ordering::Relaxed);
        self.bytes.fetch_sub(size, Ordering::Relaxed);
    }

    fn over(&self) -> bool {
        self.entries.load(Ordering::Relaxed) > self.limits.max_entries
            || self.bytes.load(Ordering::Relaxed) > self.limits.max_bytes
    }

    /// Evicts the oldest entries (by insertion, across shards) while over a
    /// bound. Each shard is locked on its own: the fronts are compared, then
    /// the oldest is taken if it is still in front.
    fn enforce(&self) {
        for _ in 0..MAX_EVICTION_ROUNDS {
            if !self.over() {
                return;
            }
            let mut oldest: Option<(usize, u64)> = None;
            for (i, shard) in self.shards.iter().enumerate() {
                if let Some(gen) = live_front(&mut shard.lock()) {
                    if oldest.is_none_or(|(_, g)| gen < g) {
                        oldest = Some((i, gen));
                    }
                }
            }
            let Some((i, gen)) = oldest else { return };
            let mut shard = self.shards[i].lock();
            if live_front(&mut shard) == Some(gen) {
                self.pop_front_if(&mut shard, |_| true);
            }
        }
    }

    /// Removes the shard's oldest live entry if `cond` holds for it; stale
    /// queue pairs in front of it are dropped. True if an entry was removed.
    fn pop_front_if(&self, shard: &mut Shard, cond: impl Fn(&Slot) -> bool) -> bool {
        while let Some(&(id, gen)) = shard.order.front() {
            match shard.map.get(&id) {
                Some(slot) if slot.gen == gen => {
                    if !cond(slot) {
                        return false;
                    }
                    shard.order.pop_front();
                    if let Some(old) = shard.map.remove(&id) {
                        self.forget(old.size);
                    }
                    return true;
                }
                _ => {
                    shard.order.pop_front();
                }
            }
        }
        false
    }
}

/// The generation of the shard's oldest live entry (stale pairs in front are dropped).
fn live_front(shard: &mut Shard) -> Option<u64> {
    while let Some(&(id, gen)) = shard.order.front() {
        if shard.map.get(&id).is_some_and(|s| s.gen == gen) {
            return Some(gen);
        }
        shard.order.pop_front();
    }
    None
}
