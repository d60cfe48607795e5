//! cache: answers repeated route requests and method calls from a store, in Rust.
//!
//! Plugin options (JSON, from the JS face): `store` (`"memory"`, the
//! default, or `"redis"`); for memory `maxEntries` (10 000) and `maxBytes`
//! (64 MiB); for Redis `url` (required), `prefix` (`"cache:"`, not empty)
//! and `timeoutMs` (1000, the bound of every Redis operation). Layer options,
//! one `@Cache` method's view: `module` and `method` (the key prefix
//! `module:method:`), `ttl` (ms, 60 000; 0 stores nothing) and `http`
//! (true: GET/HEAD requests of its route are cached by the layer itself).
//!
//! Routes ([`policy`] says when): the key is `module:method:` + the xxh3-128
//! hash of `GET <path?query>`. A hit answers with the stored reply plus
//! `Age` and `X-Cache: HIT` without entering JavaScript; a miss gets
//! `X-Cache: MISS` and its 200 reply is stored. With Redis, `before` waits
//! for the GET (`Flow::Pending`) and `after` spawns the SET.
//!
//! Method calls (`engine.handler()`): the JS face computes the key and calls
//! [`NativeLayer::call`]: `get {key}` → JSON text or null, `set {key,
//! value}` (JSON text, the layer's ttl), `delete {key}`, `clear`, `flush`
//! (waits for pending Redis writes), `connect` and `stats` (the fresh
//! entries' keys and times, routes' included: `{size, entries: [{key,
//! createdAt, expiresAt}]}`, at most 100 000).
mod entry;
mod ops;
mod policy;
mod remote;
mod store;
#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue, AGE};
use serde_json::Value;

pub use entry::{decode, encode, key_id, Entry, HttpKey, Payload, StoredReply};
pub use policy::{directives, request_policy, storable, Directives, RequestPolicy};
pub use remote::RemoteStore;
pub use store::{Clock, Limits, MemoryStore, SystemClock};

use super::PluginError;
use crate::kernel::{BoxFuture, Flow, LayerCtx, LayerError, NativeLayer, NativePlugin, Reply};
use crate::support::options::int_option;

pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
const HIT: HeaderValue = HeaderValue::from_static("HIT");
const MISS: HeaderValue = HeaderValue::from_static("MISS");

const DEFAULT_MAX_ENTRIES: u64 = 10_000;
const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
const DEFAULT_TTL_MS: u64 = 60_000;
const DEFAULT_TIMEOUT_MS: u64 = 1000;
/// Shards of the memory store.
const SHARDS: usize = 16;

/// Creates the plugin from its options, on the system clock.
pub fn create(options: &Value) -> Result<Arc<dyn NativePlugin>, PluginError> {
    Ok(Arc::new(CachePlugin::with_clock(
        options,
        Arc::new(SystemClock),
    )?))
}

/// Where entries live.
pub enum Backend {
    Memory(MemoryStore),
    Redis(Arc<RemoteStore>),
}

struct Shared {
    backend: Backend,
    clock: Arc<dyn Clock>,
}

/// The plugin: one store shared by every `@Cache` method of the engine.
pub struct CachePlugin {
    shared: Arc<Shared>,
}

impl CachePlugin {
    /// The plugin on a given clock (tests move time by hand).
    pub fn with_clock(options: &Value, clock: Arc<dyn Clock>) -> Result<CachePlugin, PluginError> {
        if !(options.is_object() || options.is_null()) {
            return Err("cache options must be an object".into());
        }
        let store = match options.get("store") {
            None | Some(Value::Null) => "memory",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err("store must be \"memory\" or \"redis\"".into()),
        };
        let backend = match store {
            "memory" => {
                let max_entries = int_option(options, "maxEntries", 0, u32::MAX.into())?
                    .unwrap_or(DEFAULT_MAX_ENTRIES);
                let max_bytes =
                    int_option(options, "maxBytes", 0, 1 << 40)?.unwrap_or(DEFAULT_MAX_BYTES);
                let limits = Limits {
                    max_entries: usize::try_from(max_entries)
                        .map_err(|_| "maxEntries is too large")?,
                    max_bytes: usize::try_from(max_bytes).map_err(|_| "maxBytes is too large")?,
                };
                Backend::Memory(MemoryStore::new(limits, SHARDS))
            }
            "redis" => {
                let url = options
                    .get("url")
                    .and_then(Value::as_str)
                    .ok_or("url must be a redis:// URL string")?;
                let prefix = match options.get("prefix") {
                    None | Some(Value::Null) => "cache:".to_owned(),
                    Some(Value::String(p)) if !p.is_empty() => p.clone(),
                    Some(_) => return Err("prefix must be a non-empty string".into()),
                };
                let timeout =
                    int_option(options, "timeoutMs", 1, 600_000)?.unwrap_or(DEFAULT_TIMEOUT_MS);
                let store = RemoteStore::new(url, prefix, Duration::from_millis(timeout))?;
                Backend::Redis(Arc::new(store))
            }
            other => {
                return Err(format!("store must be \"memory\" or \"redis\", got {other:?}").into())
            }
        };
        Ok(CachePlugin {
            shared: Arc::new(Shared { backend, clock }),
        })
    }

    /// The memory store (None with Redis).
    pub fn memory(&self) -> Option<&MemoryStore> {
        match &self.shared.backend {
            Backend::Memory(m) => Some(m),
            Backend::Redis(_) => None,
        }
    }
}

impl NativePlugin for CachePlugin {
    fn layer(&self, options: &Value) -> Result<Option<Arc<dyn NativeLayer>>, LayerError> {
        let text = |name: &str| {
            options
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("{name} must be a non-empty string"))
        };
        let module = text("module")?;
        let method = text("method")?;
        let ttl_ms = int_option(options, "ttl", 0, 1 << 53)?.unwrap_or(DEFAULT_TTL_MS);
        let http = match options.get("http") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("http must be a boolean".into()),
        };
        Ok(Some(Arc::new(CacheLayer {
            shared: self.shared.clone(),
            prefix: format!("{module}:{method}:").into(),
            ttl_ms,
            http,
        })))
    }
}

/// One `@Cache` method's layer.
pub struct CacheLayer {
    shared: Arc<Shared>,
    /// `module:method:`
    prefix: Box<str>,
    ttl_ms: u64,
    http: bool,
}

/// What `before` leaves for `after` when the request was not answered from the cache.
#[derive(Clone)]
struct Miss {
    hash: [u8; 32],
    policy: RequestPolicy,
    /// Redis: the lookup's outcome (it may be skipped when the layer runs from JS).
    state: Option<Arc<AtomicU8>>,
}

const PENDING: u8 = 0;
const WAS_HIT: u8 = 1;
const WAS_MISS: u8 = 2;

/// The stored reply as an answer, with `Age` and `X-Cache: HIT`.
fn hit_reply(r: &StoredReply, age_s: u64) -> Reply {
    let mut headers = r.headers.clone();
    headers.insert(AGE, HeaderValue::from(age_s));
    headers.insert(X_CACHE, HIT);
    Reply {
        status: r.status,
        headers,
        body: r.body.clone(),
        stream: None,
    }
}

/// The reply in `entry` if it is fresh and may answer this request.
fn usable_reply(
    entry: &Entry,
    now: u64,
    policy: &RequestPolicy,
    headers: &hyper::HeaderMap,
) -> Option<Reply> {
    if entry.expires_at <= now {
        return None;
    }
    let Payload::Reply(r) = &entry.payload else {
        return None;
    };
    let age_s = now.saturating_sub(entry.stored_at) / 1000;
    policy::usable(r, policy, age_s, headers).then(|| hit_reply(r, age_s))
}

impl NativeLayer for CacheLayer {
    fn name(&self) -> &'static str {
        "cache"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        if !self.http || self.ttl_ms == 0 {
            return Flow::Continue;
        }
        let Some(policy) = request_policy(ctx.method, ctx.headers) else {
            return Flow::Continue;
        };
        let key = HttpKey::new(&self.prefix, ctx.target);
        match &self.shared.backend {
            Backend::Memory(store) => {
                if policy.lookup {
                    let now = self.shared.clock.now_ms();
                    if let Some(entry) = store.get(key.id(), now) {
                        if let Some(reply) = usable_reply(&entry, now, &policy, ctx.headers) {
                            return Flow::Respond(reply);
                        }
                    }
                }
                ctx.scratch.insert(Miss {
                    hash: key.hash(),
                    policy,
                    state: None,
                });
                Flow::Continue
            }
            Backend::Redis(remote) => {
                remote.note_runtime();
                let state = Arc::new(AtomicU8::new(if policy.lookup {
                    PENDING
                } else {
                    WAS_MISS
                }));
                ctx.scratch.insert(Miss {
                    hash: key.hash(),
                    policy,
                    state: Some(state.clone()),
                });
                if !policy.lookup {
                    return Flow::Continue;
                }
                let remote = remote.clone();
                let clock = self.shared.clock.clone();
                let headers = ctx.headers.clone();
                let text = key.text();
                Flow::Pending(Box::pin(async move {
                    let found = remote.get(&text).await;
                    let now = clock.now_ms();
                    match found.and_then(|e| usable_reply(&e, now, &policy, &headers)) {
                        Some(reply) => {
                            state.store(WAS_HIT, Ordering::Release);
                            Flow::Respond(reply)
                        }
                        None => {
                            state.store(WAS_MISS, Ordering::Release);
                            Flow::Continue
                        }
                    }
                }))
            }
        }
    }

    fn after(&self, ctx: &LayerCtx<'_>, reply: &mut Reply) {
        let Some(miss) = ctx.scratch.get::<Miss>() else {
            return;
        };
        if miss
            .state
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Acquire) == WAS_HIT)
        {
            return;
        }
        if miss.policy.store {
            self.store_reply(ctx, miss, reply);
        }
        reply.headers.insert(X_CACHE, MISS);
    }

    fn call(&self, op: &str, arg: Value) -> BoxFuture<Result<Value, LayerError>> {
        self.operation(op, arg)
    }
}

impl CacheLayer {
    /// Stores a route's reply if the request and the reply allow it.
    fn store_reply(&self, ctx: &LayerCtx<'_>, miss: &Miss, reply: &Reply) {
        if reply.stream.is_some() {
            // A proxied body still streaming: not in memory, not cached.
            return;
        }
        let Some((ttl, public)) =
            storable(reply.status, &reply.headers, self.ttl_ms, miss.policy.auth)
        else {
            return;
        };
        let Some(names) = policy::vary_names(&reply.headers) else {
            return;
        };
        let now = self.shared.clock.now_ms();
        let key = HttpKey::from_hash(&self.prefix, miss.hash);
        let entry = Entry {
            key: key.text().into(),
            stored_at: now,
            expires_at: now.saturating_add(ttl),
            payload: Payload::Reply(StoredReply {
                status: reply.status,
                headers: reply.headers.clone(),
                body: reply.body.clone(),
                vary: policy::vary_snapshot(names, ctx.headers),
                public,
            }),
        };
        match &self.shared.backend {
            Backend::Memory(store) => {
                store.insert(key.id(), entry, now);
            }
            Backend::Redis(remote) => remote.spawn_set(entry.key.to_string(), encode(&entry), ttl),
        }
    }
}
