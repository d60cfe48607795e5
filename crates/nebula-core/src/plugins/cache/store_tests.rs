//! The memory store's bounds and TTL, keys, Cache-Control parsing and the
//! Redis encoding.
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CACHE_CONTROL};
use hyper::{HeaderMap, StatusCode};

use super::*;

fn value_entry(key: &str, body: &str, now: u64, ttl: u64) -> Entry {
    Entry {
        key: key.into(),
        stored_at: now,
        expires_at: now + ttl,
        payload: Payload::Value(Bytes::copy_from_slice(body.as_bytes())),
    }
}

// ---- the memory store -------------------------------------------------------

fn limits(max_entries: usize, max_bytes: usize) -> Limits {
    Limits {
        max_entries,
        max_bytes,
    }
}

#[test]
fn evicts_the_oldest_entry_when_over_max_entries() {
    let store = MemoryStore::new(limits(2, 1 << 20), 1);
    for k in ["a", "b", "c"] {
        assert!(store.insert(key_id(k), value_entry(k, "1", 0, 1000), 0));
    }
    assert_eq!(store.len(), 2);
    assert!(store.get(key_id("a"), 0).is_none());
    assert!(store.get(key_id("b"), 0).is_some());
    assert!(store.get(key_id("c"), 0).is_some());
}

#[test]
fn entries_lists_fresh_entries_oldest_first_up_to_a_limit() {
    let store = MemoryStore::new(limits(10, 1 << 20), 4);
    for (k, ttl) in [("a", 100), ("b", 10), ("c", 100), ("d", 100)] {
        assert!(store.insert(key_id(k), value_entry(k, "1", 0, ttl), 0));
    }
    // "a" again: it is now the newest.
    assert!(store.insert(key_id("a"), value_entry("a", "2", 0, 100), 0));
    let keys = |now, limit| -> Vec<String> {
        store
            .entries(now, limit)
            .iter()
            .map(|e| e.key.to_string())
            .collect()
    };
    assert_eq!(keys(0, 100), ["b", "c", "d", "a"]);
    assert_eq!(keys(10, 100), ["c", "d", "a"]);
    assert_eq!(keys(10, 2), ["c", "d"]);
}

#[test]
fn evicts_the_oldest_entries_when_over_max_bytes() {
    let one = value_entry("k0", &"x".repeat(1000), 0, 1000).size();
    let store = MemoryStore::new(limits(1000, one * 3), 1);
    for i in 0..5 {
        let k = format!("k{i}");
        assert!(store.insert(key_id(&k), value_entry(&k, &"x".repeat(1000), 0, 1000), 0));
        assert!(store.bytes() <= one * 3);
    }
    assert_eq!(store.len(), 3);
    let alive: Vec<bool> = (0..5)
        .map(|i| store.get(key_id(&format!("k{i}")), 0).is_some())
        .collect();
    assert_eq!(alive, [false, false, true, true, true]);
}

#[test]
fn does_not_store_an_entry_larger_than_max_bytes() {
    let store = MemoryStore::new(limits(10, 300), 1);
    assert!(!store.insert(
        key_id("big"),
        value_entry("big", &"x".repeat(400), 0, 1000),
        0
    ));
    assert_eq!((store.len(), store.bytes()), (0, 0));
    let none = MemoryStore::new(limits(0, 1 << 20), 1);
    assert!(!none.insert(key_id("a"), value_entry("a", "1", 0, 1000), 0));
}

#[test]
fn replacing_an_entry_counts_it_once_and_keeps_its_new_place() {
    let store = MemoryStore::new(limits(2, 1 << 20), 1);
    store.insert(key_id("a"), value_entry("a", "1", 0, 1000), 0);
    store.insert(key_id("b"), value_entry("b", "1", 0, 1000), 0);
    // "a" again: now newer than "b", so "b" is the one evicted by "c".
    store.insert(key_id("a"), value_entry("a", "22", 0, 1000), 0);
    assert_eq!(store.len(), 2);
    store.insert(key_id("c"), value_entry("c", "1", 0, 1000), 0);
    assert!(store.get(key_id("b"), 0).is_none());
    let a = store.get(key_id("a"), 0).expect("a stays");
    assert_eq!(a.payload, Payload::Value(Bytes::from_static(b"22")));
    let expected: usize = ["a", "c"]
        .iter()
        .map(|k| store.get(key_id(k), 0).map_or(0, |e| e.size()))
        .sum();
    assert_eq!(store.bytes(), expected);
}

#[test]
fn a_sharded_store_keeps_both_bounds_for_the_whole_store() {
    let store = MemoryStore::new(limits(100, 20_000), 16);
    for i in 0..2000 {
        let k = format!("key-{i}");
        store.insert(
            key_id(&k),
            value_entry(&k, &"y".repeat(i % 300), 0, 1000),
            0,
        );
        assert!(store.len() <= 100 && store.bytes() <= 20_000);
    }
    assert!(store.len() > 10);
    assert!(
        store.get(key_id("key-1999"), 0).is_some(),
        "the newest entry stays"
    );
    let n = store.len();
    assert_eq!(store.clear(), n);
    assert_eq!((store.len(), store.bytes()), (0, 0));
}

#[test]
fn a_sharded_store_evicts_the_oldest_across_shards() {
    let store = MemoryStore::new(limits(3, 1 << 20), 16);
    for i in 0..40 {
        let k = format!("k{i}");
        store.insert(key_id(&k), value_entry(&k, "1", 0, 1000), 0);
        let alive: Vec<usize> = (0..=i)
            .filter(|j| store.get(key_id(&format!("k{j}")), 0).is_some())
            .collect();
        let expected: Vec<usize> = (i.saturating_sub(2)..=i).collect();
        assert_eq!(alive, expected);
    }
}

#[test]
fn entries_expire_after_their_ttl() {
    let store = MemoryStore::new(limits(10, 1 << 20), 1);
    store.insert(key_id("a"), value_entry("a", "1", 1000, 500), 1000);
    assert!(store.get(key_id("a"), 1499).is_some());
    assert!(store.get(key_id("a"), 1500).is_none());
    // The stale entry was dropped, not just hidden.
    assert_eq!((store.len(), store.bytes()), (0, 0));
    assert!(!store.remove(key_id("a")));
}

#[test]
fn http_key_ids_match_the_key_text() {
    let key = HttpKey::new("users:get:", "/users/1?x=2");
    let text = key.text();
    assert!(text.starts_with("users:get:") && text.len() == "users:get:".len() + 32);
    assert_eq!(key.id(), key_id(&text));
    assert_ne!(key.id(), HttpKey::new("users:get:", "/users/1?x=3").id());
    assert_ne!(key.id(), HttpKey::new("users:list:", "/users/1?x=2").id());
    assert_eq!(HttpKey::from_hash("users:get:", key.hash()).id(), key.id());
}

// ---- Cache-Control parsing, encoding ----------------------------------------------

#[test]
fn reads_cache_control_directives() {
    let mut h = HeaderMap::new();
    h.append(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache=\"set-cookie, x\", MAX-AGE=\"30\""),
    );
    h.append(
        CACHE_CONTROL,
        HeaderValue::from_static("public,s-maxage=99999999999999999999999"),
    );
    let d = directives(&h);
    assert!(d.no_cache && d.public && !d.no_store && !d.private);
    assert_eq!((d.max_age, d.s_maxage), (Some(30), Some(u64::MAX)));
    let mut h = HeaderMap::new();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=soon"));
    assert_eq!(directives(&h).max_age, Some(0));
}

#[test]
fn entries_survive_the_redis_encoding() {
    let mut headers = HeaderMap::new();
    headers.append("content-type", HeaderValue::from_static("application/json"));
    headers.append("x-two", HeaderValue::from_static("a"));
    headers.append("x-two", HeaderValue::from_static("b"));
    let entry = Entry {
        key: "users:get:ff".into(),
        stored_at: 5,
        expires_at: 9,
        payload: Payload::Reply(StoredReply {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(b"{\"id\":1}"),
            vary: vec![(
                HeaderName::from_static("accept-encoding"),
                vec![HeaderValue::from_static("gzip")],
            )],
            public: true,
        }),
    };
    let bytes = encode(&entry);
    assert_eq!(decode("users:get:ff", &bytes), Ok(entry));
    let value = value_entry("k", "[1,2]", 1, 2);
    assert_eq!(decode("k", &encode(&value)), Ok(value));
    for cut in [0, 3, 10, 21, 25] {
        assert!(decode("k", &bytes[..cut]).is_err(), "cut at {cut}");
    }
    assert!(decode("k", b"something else").is_err());
}
