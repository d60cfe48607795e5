//! Rolling restart of a service (hot reload): one instance at a time, the
//! new worker is ready before the old one leaves the endpoints.
use std::sync::Arc;

use tokio::sync::oneshot;

use super::error::{human, GatewayError};
use super::registry::{Shared, WorkerId};
use super::supervisor::launch;

pub async fn restart_rolling(shared: &Arc<Shared>, service: usize) -> Result<(), GatewayError> {
    let entry = &shared.services[service];
    let _one_at_a_time = entry.rolling.lock().await;
    let name = &entry.name;
    let spec = entry.spec();
    for instance in 0..spec.instances {
        let old = shared.active(service, instance);
        let generation = old.map_or(0, |(_, generation)| generation + 1);
        let (tx, rx) = oneshot::channel();
        let new = launch(shared, service, instance, generation, Some(tx))?;
        let first = tokio::select! {
            first = rx => first.ok(),
            _ = shared.stop.cancelled() => None,
        };
        match first {
            Some(Ok(())) => {}
            Some(Err(reason)) => {
                shared.retire(new).await;
                tracing::error!(target: "nebula::gateway", service = %name, instance,
                    "[{name}#{instance}] rolling restart: the new worker failed, keeping the old one: {reason}");
                return Err(GatewayError::RollingRestart {
                    service: name.to_string(),
                    instance,
                    reason: reason.to_string(),
                });
            }
            None => {
                shared.retire(new).await;
                return Err(GatewayError::Stopped);
            }
        }
        let Some((old, _)) = old else { continue };
        // The new worker is in the endpoints already; now the old one leaves them.
        drain_and_retire(shared, service, old, instance, spec.grace).await;
        tracing::info!(target: "nebula::gateway", service = %name, instance,
            "[{name}#{instance}] rolling restart: generation {generation} serves");
    }
    // Fewer instances than before: the extra ones leave.
    for (old, instance) in shared.active_from(service, spec.instances) {
        drain_and_retire(shared, service, old, instance, spec.grace).await;
    }
    Ok(())
}

/// Takes a worker out of the endpoints, waits for its requests in flight (at
/// most `grace`) and stops it.
async fn drain_and_retire(
    shared: &Arc<Shared>,
    service: usize,
    old: WorkerId,
    instance: usize,
    grace: std::time::Duration,
) {
    let name = &shared.services[service].name;
    if let Some(in_flight) = shared.drain(old) {
        let idle = tokio::select! {
            idle = in_flight.wait_idle(grace) => idle,
            _ = shared.stop.cancelled() => true,
        };
        if !idle {
            tracing::warn!(target: "nebula::gateway", service = %name, instance,
                "[{name}#{instance}] {} request(s) still in flight after {}; stopping the old worker anyway",
                in_flight.get(), human(grace));
        }
    }
    shared.retire(old).await;
}
