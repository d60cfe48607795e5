//! rate_limit: answers 429 in Rust when a client goes over its limit.
//!
//! Plugin options (JSON, from the JS face): `maxRequests` (100), `windowMs`
//! (60 000), `key` (`"ip"`, `{ "header": name }` or `{ "claim": name }`) and
//! `maxKeys` (100 000 keys per scope at most). Layer options, one handler's
//! merged view: `maxRequests`, `windowMs` (or their module/route spellings
//! `rateLimitMaxRequests`, `rateLimitWindowMs`, which win), `scope` (whose
//! counters: `"global"` when absent) and `rateLimit: false` (no layer).
//!
//! Counting is GCRA (see [`store`]): a burst of `maxRequests`, then one more
//! every `windowMs / maxRequests`; O(1) per request, no background thread.
//! Handlers with the same scope and limit share one [`store::Store`].
//!
//! Every answer through the layer carries `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` (seconds until a slot frees);
//! a refused request gets `429 {"error": "Too Many Requests", "message"}` with
//! `Retry-After` (seconds, rounded up) and never reaches the handler.
mod key;
mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use hyper::header::{HeaderName, HeaderValue, RETRY_AFTER};
use hyper::StatusCode;
use parking_lot::Mutex;
use serde_json::Value;

pub use key::KeySource;
pub use store::{Clock, Decision, MonotonicClock, Store};

use super::PluginError;
use crate::kernel::{Flow, LayerCtx, LayerError, NativeLayer, NativePlugin, Reply};
use crate::support::options::int_option;

/// `maxRequests` at most.
const MAX_REQUESTS: u64 = 1_000_000_000;
/// `windowMs` at most (about 49.7 days).
const MAX_WINDOW_MS: u64 = u32::MAX as u64;
/// `maxKeys` at most.
const MAX_KEYS: u64 = 100_000_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Creates the plugin from its options, on the real clock.
pub fn create(options: &Value) -> Result<Arc<dyn NativePlugin>, PluginError> {
    Ok(Arc::new(RateLimitPlugin::with_clock(
        options,
        Arc::new(MonotonicClock::default()),
    )?))
}

/// A limit: `max` requests per `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Limit {
    max: u64,
    window_ms: u64,
}

/// The plugin: defaults, the key source, and the stores of every scope.
pub struct RateLimitPlugin {
    defaults: Limit,
    key: Arc<KeySource>,
    max_keys: usize,
    clock: Arc<dyn Clock>,
    /// One store per (scope, limit); only touched while layers are created.
    stores: Mutex<HashMap<(String, Limit), Arc<Store>>>,
}

impl RateLimitPlugin {
    /// The plugin on a given clock (tests move time by hand).
    pub fn with_clock(
        options: &Value,
        clock: Arc<dyn Clock>,
    ) -> Result<RateLimitPlugin, PluginError> {
        if !(options.is_object() || options.is_null()) {
            return Err("rate-limit options must be an object".into());
        }
        let max = int_option(options, "maxRequests", 1, MAX_REQUESTS)?.unwrap_or(100);
        let window_ms = int_option(options, "windowMs", 1, MAX_WINDOW_MS)?.unwrap_or(60_000);
        let defaults = check_limit(max, window_ms, "maxRequests")?;
        let max_keys = int_option(options, "maxKeys", 1, MAX_KEYS)?.unwrap_or(100_000);
        Ok(RateLimitPlugin {
            defaults,
            key: Arc::new(KeySource::parse(options.get("key"))?),
            max_keys: usize::try_from(max_keys).map_err(|_| "maxKeys is too large")?,
            clock,
            stores: Mutex::new(HashMap::new()),
        })
    }

    /// The store of `scope` with `limit` (created on first use).
    fn store(&self, scope: &str, limit: Limit) -> Arc<Store> {
        let mut stores = self.stores.lock();
        stores
            .entry((scope.to_owned(), limit))
            .or_insert_with(|| {
                Arc::new(Store::new(
                    limit.max,
                    limit.window_ms * NS_PER_MS,
                    self.max_keys,
                ))
            })
            .clone()
    }
}

/// Checks that `max` requests fit in the window (at least 1 ns apiece).
fn check_limit(max: u64, window_ms: u64, max_name: &str) -> Result<Limit, String> {
    if max > window_ms * NS_PER_MS {
        return Err(format!(
            "{max_name} {max} is too many for a window of {window_ms} ms (at most 1000000 per ms)"
        ));
    }
    Ok(Limit { max, window_ms })
}

impl NativePlugin for RateLimitPlugin {
    fn layer(&self, options: &Value) -> Result<Option<Arc<dyn NativeLayer>>, LayerError> {
        if !(options.is_object() || options.is_null()) {
            return Err("rate-limit layer options must be an object".into());
        }
        match options.get("rateLimit") {
            None | Some(Value::Null) | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Ok(None),
            Some(other) => {
                return Err(format!(
                    "rateLimit must be a boolean (false exempts the route), got {other}"
                )
                .into())
            }
        }
        let (max_name, max) = match int_option(options, "rateLimitMaxRequests", 1, MAX_REQUESTS)? {
            Some(n) => ("rateLimitMaxRequests", n),
            None => (
                "maxRequests",
                int_option(options, "maxRequests", 1, MAX_REQUESTS)?.unwrap_or(self.defaults.max),
            ),
        };
        let window_ms = match int_option(options, "rateLimitWindowMs", 1, MAX_WINDOW_MS)? {
            Some(n) => n,
            None => int_option(options, "windowMs", 1, MAX_WINDOW_MS)?
                .unwrap_or(self.defaults.window_ms),
        };
        let limit = check_limit(max, window_ms, max_name)?;
        let scope = match options.get("scope") {
            None | Some(Value::Null) => "global",
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return Err(format!("scope must be a string, got {other}").into()),
        };
        let message = format!("rate limit exceeded: {max} requests per {window_ms} ms");
        Ok(Some(Arc::new(RateLimitLayer {
            store: self.store(scope, limit),
            key: self.key.clone(),
            clock: self.clock.clone(),
            limit: number(max),
            denied: Reply::error(StatusCode::TOO_MANY_REQUESTS, &message),
        })))
    }
}

/// One handler's layer.
struct RateLimitLayer {
    store: Arc<Store>,
    key: Arc<KeySource>,
    clock: Arc<dyn Clock>,
    /// `RateLimit-Limit`.
    limit: HeaderValue,
    /// The 429 answer, without `Retry-After`.
    denied: Reply,
}

/// What `before` found, for `after`'s headers.
#[derive(Debug, Clone, Copy)]
struct Quota {
    remaining: u64,
    reset_s: u64,
}

impl NativeLayer for RateLimitLayer {
    fn name(&self) -> &'static str {
        "rate-limit"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        let now = self.clock.now_ns(ctx.started);
        let key = self.key.key(ctx);
        match self.store.check(key, now) {
            Decision::Allowed {
                remaining,
                reset_ns,
            } => {
                ctx.scratch.insert(Quota {
                    remaining,
                    reset_s: seconds(reset_ns),
                });
                Flow::Continue
            }
            Decision::Denied { retry_ns } => {
                let retry_s = seconds(retry_ns);
                ctx.scratch.insert(Quota {
                    remaining: 0,
                    reset_s: retry_s,
                });
                let mut reply = self.denied.clone();
                reply.headers.insert(RETRY_AFTER, number(retry_s));
                Flow::Respond(reply)
            }
        }
    }

    fn after(&self, ctx: &LayerCtx<'_>, reply: &mut Reply) {
        if let Some(q) = ctx.scratch.get::<Quota>() {
            reply.headers.insert(RATELIMIT_LIMIT, self.limit.clone());
            reply
                .headers
                .insert(RATELIMIT_REMAINING, number(q.remaining));
            reply.headers.insert(RATELIMIT_RESET, number(q.reset_s));
        }
    }
}

/// Whole seconds, rounded up, at least 1.
fn seconds(ns: u64) -> u64 {
    ns.div_ceil(NS_PER_S).max(1)
}

/// A header value for `n`; below 1024 from a static table (no allocation).
fn number(n: u64) -> HeaderValue {
    const SMALL: usize = 1024;
    static DIGITS: OnceLock<(String, Vec<usize>)> = OnceLock::new();
    let Ok(i) = usize::try_from(n) else {
        return HeaderValue::from(n);
    };
    if i >= SMALL {
        return HeaderValue::from(n);
    }
    let (text, ends) = DIGITS.get_or_init(|| {
        let mut text = String::new();
        let ends = (0..SMALL)
            .map(|k| {
                text.push_str(&k.to_string());
                text.len()
            })
            .collect();
        (text, ends)
    });
    let start = if i == 0 { 0 } else { ends[i - 1] };
    HeaderValue::from_static(&text[start..ends[i]])
}
