//! The counters of one rate-limit scope: GCRA over a sharded, bounded map.
//!
//! GCRA (the generic cell rate algorithm) is a token bucket stored as one
//! number per key: the *theoretical arrival time* (TAT). With `max` requests
//! per `window`, each request costs an emission interval `T = window / max`;
//! a request at `now` is allowed when `max(TAT, now) + T - now <= max * T`
//! (the bucket holds at most `max` requests' worth), and then moves TAT there.
//! So a client may burst `max` requests, then gets one more every `T`, which
//! is `max` per window sustained. Rejected requests cost nothing.
//!
//! A key whose TAT is in the past has a full bucket, exactly like a key that
//! was never seen: such entries are dropped freely when a shard fills up.
//! Everything is O(1) per request except eviction, which runs only when a
//! shard is full, frees at least an eighth of it, and so costs O(1) amortized.
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Instant;

use parking_lot::Mutex;

/// Nanoseconds on a monotonic scale, given when the request arrived.
pub trait Clock: Send + Sync + 'static {
    /// "Now" for a request that arrived at `started`.
    fn now_ns(&self, started: Instant) -> u64;
}

/// The real clock: the request's arrival time (no clock read per request),
/// counted from when the plugin was created.
pub struct MonotonicClock {
    base: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock {
            base: Instant::now(),
        }
    }
}

impl Clock for MonotonicClock {
    fn now_ns(&self, started: Instant) -> u64 {
        let ns = started.saturating_duration_since(self.base).as_nanos();
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

/// What the store decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Counted. `remaining` requests are left right now; one more slot frees
    /// up in `reset_ns`.
    Allowed { remaining: u64, reset_ns: u64 },
    /// Over the limit; a request is allowed again in `retry_ns`.
    Denied { retry_ns: u64 },
}

/// Keys are already 128-bit hashes: the map uses their low 64 bits as is.
#[derive(Default, Clone, Copy)]
pub struct PreHashed;

/// The [`Hasher`] of [`PreHashed`].
#[derive(Default)]
pub struct PreHashedHasher(u64);

impl Hasher for PreHashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used by u128 keys; a plain FNV-style fold keeps it correct anyway.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

impl BuildHasher for PreHashed {
    type Hasher = PreHashedHasher;
    fn build_hasher(&self) -> PreHashedHasher {
        PreHashedHasher::default()
    }
}

type Map = HashMap<u128, u64, PreHashed>;

/// One shard, on its own cache lines so two cores locking neighbours do not
/// fight over one line.
#[repr(align(128))]
struct Shard(Mutex<Map>);

/// The counters of one scope with one limit.
pub struct Store {
    shards: Box<[Shard]>,
    shard_mask: usize,
    /// Keys per shard at most.
    shard_cap: usize,
    /// Emission interval `T` (ns per request).
    interval_ns: u64,
    /// `max * T`: how far ahead of now TAT may run.
    burst_ns: u64,
}

/// The number of shards for a store holding at most `max_keys`: one per 1024
/// keys, a power of two, at most 64 (so small stores are exact and large
/// ones spread over cores).
fn shard_count(max_keys: usize) -> usize {
    let n = (max_keys / 1024).clamp(1, 64);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

impl Store {
    /// `max` requests per `window_ns`, at most about `max_keys` keys
    /// (`max_keys` rounded up to a multiple of the shard count).
    /// `max >= 1`, `window_ns >= max`, `max_keys >= 1` (checked by the caller).
    pub fn new(max: u64, window_ns: u64, max_keys: usize) -> Store {
        let max = max.max(1);
        let interval_ns = (window_ns / max).max(1);
        let shards = shard_count(max_keys.max(1));
        Store {
            shards: (0..shards)
                .map(|_| Shard(Mutex::new(Map::default())))
                .collect(),
            shard_mask: shards - 1,
            shard_cap: max_keys.max(1).div_ceil(shards),
            interval_ns,
            burst_ns: interval_ns.saturating_mul(max),
        }
    }

    /// Counts one request of `key` at `now` if the limit allows it.
    pub fn check(&self, key: u128, now: u64) -> Decision {
        let shard = &self.shards[(key >> 64) as usize & self.shard_mask];
        let mut map = shard.0.lock();
        if let Some(tat) = map.get_mut(&key) {
            let (decision, new_tat) = self.decide(*tat, now);
            if let Some(t) = new_tat {
                *tat = t;
            }
            return decision;
        }
        let (decision, new_tat) = self.decide(now, now);
        if let Some(t) = new_tat {
            if map.len() >= self.shard_cap {
                evict(&mut map, now, self.shard_cap);
            }
            map.insert(key, t);
        }
        decision
    }

    /// The decision for a key whose TAT is `tat`, and its new TAT if allowed.
    fn decide(&self, tat: u64, now: u64) -> (Decision, Option<u64>) {
        let new_tat = tat.max(now).saturating_add(self.interval_ns);
        let ahead = new_tat - now;
        if ahead > self.burst_ns {
            let retry_ns = ahead - self.burst_ns;
            return (Decision::Denied { retry_ns }, None);
        }
        let partial = ahead % self.interval_ns;
        let allowed = Decision::Allowed {
            remaining: (self.burst_ns - ahead) / self.interval_ns,
            reset_ns: if partial == 0 {
                self.interval_ns
            } else {
                partial
            },
        };
        (allowed, Some(new_tat))
    }

    /// Keys currently held (for tests and diagnostics).
    pub fn keys(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().len()).sum()
    }

    /// The most keys this store holds.
    pub fn capacity(&self) -> usize {
        self.shard_cap * self.shards.len()
    }
}

/// Makes room in a full shard: drops every key whose bucket is full again
/// (TAT in the past: nothing to remember), then, if that freed less than an
/// eighth of the shard, the keys closest to that state (smallest TAT, the
/// least used). Frees at least `cap / 8` (at least one) keys per call.
fn evict(map: &mut Map, now: u64, cap: usize) {
    map.retain(|_, tat| *tat > now);
    let keep = cap - (cap / 8).max(1);
    if map.len() <= keep {
        return;
    }
    let drop_count = map.len() - keep;
    let mut tats: Vec<u64> = map.values().copied().collect();
    let (below, threshold, _) = tats.select_nth_unstable(drop_count - 1);
    let threshold = *threshold;
    // Everything below the threshold goes, and just enough of its ties.
    let mut ties = drop_count - below.iter().filter(|t| **t < threshold).count();
    map.retain(|_, tat| {
        if *tat < threshold {
            return false;
        }
        if *tat == threshold && ties > 0 {
            ties -= 1;
            return false;
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn allowed(d: Decision) -> u64 {
        match d {
            Decision::Allowed { remaining, .. } => remaining,
            Decision::Denied { retry_ns } => panic!("denied, retry in {retry_ns}"),
        }
    }

    #[test]
    fn allows_a_burst_of_max_then_denies() {
        let s = Store::new(3, 1000 * MS, 100);
        assert_eq!(allowed(s.check(1, 0)), 2);
        assert_eq!(allowed(s.check(1, 0)), 1);
        assert_eq!(allowed(s.check(1, 0)), 0);
        assert_eq!(
            s.check(1, 0),
            Decision::Denied {
                retry_ns: 333_333_333
            }
        );
        // A denial costs nothing: still the same wait.
        assert_eq!(
            s.check(1, 0),
            Decision::Denied {
                retry_ns: 333_333_333
            }
        );
    }

    #[test]
    fn frees_one_slot_per_interval() {
        let s = Store::new(2, 1000 * MS, 100);
        allowed(s.check(7, 0));
        allowed(s.check(7, 0));
        assert_eq!(s.check(7, 499 * MS), Decision::Denied { retry_ns: MS });
        assert_eq!(allowed(s.check(7, 500 * MS)), 0);
        assert!(matches!(s.check(7, 500 * MS), Decision::Denied { .. }));
        // A full window later the bucket is full again.
        assert_eq!(allowed(s.check(7, 2000 * MS)), 1);
    }

    #[test]
    fn sustained_rate_is_max_per_window() {
        let s = Store::new(10, 1000 * MS, 100);
        let mut ok = 0;
        // One attempt per millisecond for 10 s.
        for t in 0..10_000u64 {
            if matches!(s.check(3, t * MS), Decision::Allowed { .. }) {
                ok += 1;
            }
        }
        // Burst of 10, then 10 per second for the remaining ~10 s.
        assert!((100..=110).contains(&ok), "{ok}");
    }

    #[test]
    fn reset_is_the_time_until_the_next_slot_frees() {
        let s = Store::new(4, 1000 * MS, 100);
        assert_eq!(
            s.check(1, 0),
            Decision::Allowed {
                remaining: 3,
                reset_ns: 250 * MS
            }
        );
        assert_eq!(
            s.check(1, 100 * MS),
            Decision::Allowed {
                remaining: 2,
                reset_ns: 150 * MS
            }
        );
    }

    #[test]
    fn keys_are_independent() {
        let s = Store::new(1, 1000 * MS, 100);
        allowed(s.check(1, 0));
        assert!(matches!(s.check(1, 0), Decision::Denied { .. }));
        allowed(s.check(2, 0));
        allowed(s.check(u128::MAX, 0));
    }

    #[test]
    fn memory_stays_bounded() {
        for max_keys in [1, 7, 100, 5000, 100_000] {
            let s = Store::new(5, 60_000 * MS, max_keys);
            assert!(s.capacity() >= max_keys && s.capacity() < max_keys + 64);
            for k in 0..(3 * max_keys as u128 + 10) {
                let key = xxhash_rust::xxh3::xxh3_128(&k.to_le_bytes());
                allowed(s.check(key, 1));
                if k % 997 == 0 {
                    assert!(s.keys() <= s.capacity());
                }
            }
            assert!(s.keys() <= s.capacity());
        }
    }

    #[test]
    fn eviction_drops_expired_keys_first_then_the_least_used() {
        let s = Store::new(10, 1000 * MS, 16);
        // A heavy user: 8 requests.
        for _ in 0..8 {
            allowed(s.check(999, 0));
        }
        // Light users fill the store.
        for k in 0..15 {
            allowed(s.check(k, 0));
        }
        assert_eq!(s.keys(), 16);
        // New keys force evictions; the heavy user keeps its count.
        for k in 100..140 {
            allowed(s.check(k, 1));
        }
        assert!(s.keys() <= 16);
        assert_eq!(allowed(s.check(999, 2)), 1);
        // Later every old bucket is full again: all are dropped at the next eviction.
        let later = 5000 * MS;
        allowed(s.check(200, later));
        assert_eq!(s.keys(), 1);
    }

    #[test]
    fn eviction_frees_exactly_an_eighth_among_equals() {
        let s = Store::new(10, 1000 * MS, 64);
        for k in 0..64 {
            allowed(s.check(k, 0));
        }
        allowed(s.check(1000, 0));
        assert_eq!(s.keys(), 64 - 8 + 1);
    }

    #[test]
    fn counts_exactly_across_threads() {
        let s = std::sync::Arc::new(Store::new(1000, 60_000 * MS, 100_000));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    (0..500)
                        .filter(|_| matches!(s.check(42, 5), Decision::Allowed { .. }))
                        .count()
                })
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
        assert_eq!(total, 1000);
    }

    #[test]
    fn shard_counts_are_powers_of_two() {
        assert_eq!(shard_count(1), 1);
        assert_eq!(shard_count(2047), 1);
        assert_eq!(shard_count(3000), 2);
        assert_eq!(shard_count(100_000), 64);
        assert_eq!(shard_count(usize::MAX), 64);
    }
}
