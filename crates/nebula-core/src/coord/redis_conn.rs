//! The one multiplexed Redis connection a backend shares between its
//! operations (leases in `redis.rs`, config values in `config_redis.rs`):
//! redis' `ConnectionManager`, which reconnects by itself, made by the first
//! operation (one attempt at a time), every step bounded by `timeout`.
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::time::Instant;

use super::{CoordConfigError, CoordError, OpFailure, Result};

const BACKEND: &str = "redis";

/// What [`LazyConnection::run`] does with a command the dropped connection refused.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnDropped {
    /// An error (a command that must not run twice).
    Fail,
    /// Sent once more, within the same bound (the manager reconnects meanwhile).
    ResendOnce,
}

pub struct LazyConnection {
    client: redis::Client,
    timeout: Duration,
    slot: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl LazyConnection {
    /// Parses the URL (no connection yet).
    pub fn open(url: &str, timeout: Duration) -> std::result::Result<Self, CoordConfigError> {
        let client = redis::Client::open(url)
            .map_err(|e| CoordConfigError::Invalid(format!("invalid redis url: {e}")))?;
        Ok(LazyConnection {
            client,
            timeout,
            slot: tokio::sync::Mutex::new(None),
        })
    }

    /// The client, for connections of their own (a subscriber).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Runs one command; connecting and the answer share the timeout.
    pub async fn run<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        key: &str,
        cmd: redis::Cmd,
        on_dropped: OnDropped,
    ) -> Result<T> {
        let fail = |reason: OpFailure| CoordError::new(BACKEND, op, key, reason);
        let deadline = Instant::now() + self.timeout;
        let mut conn = self.by(deadline).await.map_err(fail)?;
        let mut resent = on_dropped == OnDropped::Fail;
        loop {
            match tokio::time::timeout_at(deadline, cmd.query_async::<T>(&mut conn)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) if !resent && (e.is_io_error() || e.is_connection_dropped()) => {
                    resent = true;
                }
                Ok(Err(e)) => return Err(fail(OpFailure::Backend(e.to_string()))),
                Err(_) => return Err(fail(OpFailure::Timeout(self.timeout))),
            }
        }
    }

    /// The shared connection, made if there is none yet, by `deadline`.
    async fn by(&self, deadline: Instant) -> std::result::Result<ConnectionManager, OpFailure> {
        tokio::time::timeout_at(deadline, self.connection())
            .await
            .map_err(|_| OpFailure::ConnectTimeout(self.timeout))?
    }

    async fn connection(&self) -> std::result::Result<ConnectionManager, OpFailure> {
        let mut slot = self.slot.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let made = tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| OpFailure::ConnectTimeout(self.timeout))?
        .map_err(|e| OpFailure::Connect(format!("cannot connect: {e}")))?;
        *slot = Some(made.clone());
        Ok(made)
    }

    /// Drops the shared connection unless an operation is making it.
    pub fn close(&self) {
        if let Ok(mut slot) = self.slot.try_lock() {
            slot.take();
        }
    }
}
