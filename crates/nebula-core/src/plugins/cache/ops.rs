//! The operations the JS face calls for `engine.handler()` calls and for
//! `clear()` / `flush()`: see [`super`].
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

use super::{encode, key_id, Backend, CacheLayer, Entry, Payload};
use crate::kernel::{BoxFuture, LayerError};

/// Keys of `engine.handler()` calls are `module:method:sha256`: far shorter.
const MAX_KEY_LEN: usize = 4096;
/// Entries `stats` lists at most.
const MAX_LISTED: usize = 100_000;
/// How long `flush` waits for pending Redis writes.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

impl CacheLayer {
    /// `get`, `set`, `delete`, `clear`, `flush`, `connect`, `stats`.
    pub(super) fn operation(&self, op: &str, arg: Value) -> BoxFuture<Result<Value, LayerError>> {
        let key = match op {
            "get" | "set" | "delete" => match arg.get("key").and_then(Value::as_str) {
                Some(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => k.to_owned(),
                _ => {
                    return ready(Err(LayerError::Invalid(format!(
                        "cache {op}: key must be a string of 1-{MAX_KEY_LEN} characters"
                    ))))
                }
            },
            _ => String::new(),
        };
        match (op, &self.shared.backend) {
            ("get", Backend::Memory(store)) => {
                let now = self.shared.clock.now_ms();
                let found = store.get(key_id(&key), now);
                ready(Ok(found.and_then(|e| value_of(&e)).unwrap_or(Value::Null)))
            }
            ("get", Backend::Redis(remote)) => {
                let remote = remote.clone();
                let clock = self.shared.clock.clone();
                Box::pin(async move {
                    let found = remote.get(&key).await;
                    let now = clock.now_ms();
                    Ok(found
                        .filter(|e| e.expires_at > now)
                        .and_then(|e| value_of(&e))
                        .unwrap_or(Value::Null))
                })
            }
            ("set", _) => {
                let Some(value) = arg.get("value").and_then(Value::as_str) else {
                    return ready(Err(LayerError::Invalid(
                        "cache set: value must be a string (JSON text)".into(),
                    )));
                };
                if self.ttl_ms == 0 {
                    return ready(Ok(Value::Bool(false)));
                }
                let now = self.shared.clock.now_ms();
                let entry = Entry {
                    key: key.as_str().into(),
                    stored_at: now,
                    expires_at: now.saturating_add(self.ttl_ms),
                    payload: Payload::Value(Bytes::copy_from_slice(value.as_bytes())),
                };
                match &self.shared.backend {
                    Backend::Memory(store) => {
                        ready(Ok(Value::Bool(store.insert(key_id(&key), entry, now))))
                    }
                    Backend::Redis(remote) => {
                        let remote = remote.clone();
                        let ttl = self.ttl_ms;
                        Box::pin(async move {
                            Ok(Value::Bool(remote.set(&key, encode(&entry), ttl).await))
                        })
                    }
                }
            }
            ("delete", Backend::Memory(store)) => {
                ready(Ok(Value::Bool(store.remove(key_id(&key)))))
            }
            ("delete", Backend::Redis(remote)) => {
                let remote = remote.clone();
                Box::pin(async move { Ok(Value::Bool(remote.remove(&key).await)) })
            }
            ("clear", Backend::Memory(store)) => ready(Ok(Value::from(store.clear()))),
            ("clear", Backend::Redis(remote)) => {
                let remote = remote.clone();
                Box::pin(async move { Ok(Value::from(remote.clear().await?)) })
            }
            ("flush", Backend::Memory(_)) => ready(Ok(Value::Bool(true))),
            ("flush", Backend::Redis(remote)) => {
                let remote = remote.clone();
                Box::pin(async move { Ok(Value::Bool(remote.flush(FLUSH_TIMEOUT).await)) })
            }
            ("stats", Backend::Memory(store)) => {
                let now = self.shared.clock.now_ms();
                ready(Ok(stats(
                    store.entries(now, MAX_LISTED).iter().map(|e| &**e),
                )))
            }
            ("stats", Backend::Redis(remote)) => {
                let remote = remote.clone();
                let clock = self.shared.clock.clone();
                Box::pin(async move {
                    let found = remote.entries(MAX_LISTED).await?;
                    let now = clock.now_ms();
                    Ok(stats(found.iter().filter(|e| e.expires_at > now)))
                })
            }
            ("connect", Backend::Memory(_)) => ready(Ok(Value::Bool(true))),
            ("connect", Backend::Redis(remote)) => {
                let remote = remote.clone();
                Box::pin(async move { Ok(Value::Bool(remote.connection().await.is_some())) })
            }
            _ => ready(Err(LayerError::UnknownOp {
                layer: "cache".into(),
                op: op.to_owned(),
            })),
        }
    }
}

/// `{size, entries: [{key, createdAt, expiresAt}]}` (nebula-engine's `getStats()` shape).
fn stats<'a>(entries: impl Iterator<Item = &'a Entry>) -> Value {
    let entries: Vec<Value> = entries
        .map(|e| {
            json!({
                "key": &*e.key,
                "createdAt": e.stored_at,
                "expiresAt": e.expires_at,
            })
        })
        .collect();
    json!({ "size": entries.len(), "entries": entries })
}

/// A method result's JSON text.
fn value_of(entry: &Entry) -> Option<Value> {
    match &entry.payload {
        Payload::Value(v) => std::str::from_utf8(v)
            .ok()
            .map(|s| Value::String(s.to_owned())),
        Payload::Reply(_) => None,
    }
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<T> {
    Box::pin(std::future::ready(v))
}
