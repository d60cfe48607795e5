//! The one multiplexed Redis connection a backend shares between its
//! operations (leases in `redis.rs`, config values in `config_redis.rs`):
//! redis' `ConnectionManager`, which reconnects by itself, made by the first
//! operation (one attempt at a time), every step bounded by `timeout`.
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::time::Instant;

use super::{CoordConfigError, OpFailure};

pub struct LazyConnection {
    client: redis::Client,
    timeout: Duration,
    slot: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl LazyConnection {
    /// Parses the URL (no connection yet).
    pub fn open(url: &str, timeout: Duration) -> Result<Self, CoordConfigError> {
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

    /// The shared connection, made if there is none yet, by `deadline`.
    pub async fn by(&self, deadline: Instant) -> Result<ConnectionManager, OpFailure> {
        tokio::time::timeout_at(deadline, self.connection())
            .await
            .map_err(|_| OpFailure::ConnectTimeout(self.timeout))?
    }

    async fn connection(&self) -> Result<ConnectionManager, OpFailure> {
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
