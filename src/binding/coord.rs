//! Leases for the JS face (SchedulePlugin, ConcurrencyLockPlugin):
//! `new NativeCoordinator({ type, url?, prefix?, bucket?, timeoutMs? })` and
//! its `acquire` / `renew` / `release`, each a Promise<boolean> run on the
//! addon's tokio runtime; a backend failure rejects (with its context).
//! `cronNext(expr, afterMs)` gives a cron expression's next fire time.
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::engine::invalid;
use super::error::to_js;
use nebula_core::coord::{next_cron_ms, CoordConfig, Coordinator};

/// The largest TTL accepted, in ms (about 24 days; beyond, a lease is not a lease).
const MAX_TTL_MS: f64 = 2_147_483_647.0;

#[napi]
pub struct NativeCoordinator {
    coord: Arc<dyn Coordinator>,
}

fn ttl(ttl_ms: f64) -> Result<Duration> {
    if ttl_ms.fract() != 0.0 || !(1.0..=MAX_TTL_MS).contains(&ttl_ms) {
        return Err(invalid(format!(
            "ttlMs must be an integer from 1 to {MAX_TTL_MS}, got {ttl_ms}"
        )));
    }
    Ok(Duration::from_millis(ttl_ms as u64))
}

#[napi]
impl NativeCoordinator {
    /// Checks the options (errors name the option); connects on first use.
    #[napi(
        constructor,
        ts_args_type = "options: { type?: 'local' | 'redis' | 'nats'; url?: string; prefix?: string; bucket?: string; timeoutMs?: number }"
    )]
    pub fn new(options: serde_json::Value) -> Result<Self> {
        let config = CoordConfig::from_json(&options).map_err(to_js)?;
        let coord = config.build().map_err(to_js)?;
        Ok(NativeCoordinator { coord })
    }

    /// True when `key` was free (or expired) and is now held by `owner` for `ttlMs`.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn acquire<'env>(
        &self,
        env: &'env Env,
        key: String,
        owner: String,
        ttl_ms: f64,
    ) -> Result<PromiseRaw<'env, bool>> {
        let ttl = ttl(ttl_ms)?;
        let coord = self.coord.clone();
        env.spawn_future(async move { coord.acquire(&key, &owner, ttl).await.map_err(to_js) })
    }

    /// True when `owner` still held `key` and now holds it for `ttlMs` from now.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn renew<'env>(
        &self,
        env: &'env Env,
        key: String,
        owner: String,
        ttl_ms: f64,
    ) -> Result<PromiseRaw<'env, bool>> {
        let ttl = ttl(ttl_ms)?;
        let coord = self.coord.clone();
        env.spawn_future(async move { coord.renew(&key, &owner, ttl).await.map_err(to_js) })
    }

    /// True when `owner` held `key` and it is now free.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn release<'env>(
        &self,
        env: &'env Env,
        key: String,
        owner: String,
    ) -> Result<PromiseRaw<'env, bool>> {
        let coord = self.coord.clone();
        env.spawn_future(async move { coord.release(&key, &owner).await.map_err(to_js) })
    }

    /// Drops the connection (the next operation connects again).
    #[napi]
    pub fn close(&self) {
        self.coord.close();
    }
}

/// The next time (ms since the epoch) a 5-field UTC cron expression matches
/// strictly after `afterMs`; throws for an invalid expression.
#[napi]
pub fn cron_next(expr: String, after_ms: f64) -> Result<f64> {
    if !after_ms.is_finite() {
        return Err(invalid(format!(
            "afterMs must be a finite number, got {after_ms}"
        )));
    }
    let next = next_cron_ms(&expr, after_ms as i64).map_err(to_js)?;
    Ok(next as f64)
}
