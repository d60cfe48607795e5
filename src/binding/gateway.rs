//! The gateway as JavaScript sees it: `NativeEngine.attachServices(options,
//! layers)` adds the services' routes (inside `layers`, outermost first) and
//! returns a `NativeServices` (status, rolling restart). Workers start when
//! the engine listens and stop after the server when it closes.
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::engine::{app_error, invalid, NativeEngine};
use super::error::to_js;
use nebula_core::gateway::Gateway;

#[napi]
pub struct NativeServices {
    gateway: Arc<Gateway>,
}

#[napi]
impl NativeEngine {
    #[napi]
    pub fn attach_services(
        &mut self,
        options: serde_json::Value,
        layers: Vec<u32>,
    ) -> Result<NativeServices> {
        let gateway = Arc::new(Gateway::from_json(&options).map_err(to_js)?);
        let layers = self.natives.resolve(&layers)?;
        self.app
            .attach_gateway(gateway.clone(), layers)
            .map_err(app_error)?;
        Ok(NativeServices { gateway })
    }
}

#[napi]
impl NativeServices {
    /// Every service with its instances, as JSON.
    #[napi]
    pub fn status(&self) -> String {
        self.gateway.status().to_string()
    }

    /// Stops every worker (also when the engine never listened or failed to).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let gateway = self.gateway.clone();
        env.spawn_future(async move {
            gateway.stop().await;
            Ok(())
        })
    }

    /// Replaces `service`'s workers one by one (new one ready before the old one drains).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn restart<'env>(&self, env: &'env Env, service: String) -> Result<PromiseRaw<'env, ()>> {
        let gateway = self.gateway.clone();
        env.spawn_future(async move { gateway.restart(&service).await.map_err(to_js) })
    }
}

#[napi]
impl NativeServices {
    /// Applies new options while serving; resolves to what changed (JSON),
    /// rejects (changing nothing) when they are invalid.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn update<'env>(
        &self,
        env: &'env Env,
        options: serde_json::Value,
    ) -> Result<PromiseRaw<'env, String>> {
        let gateway = self.gateway.clone();
        env.spawn_future(async move {
            let summary = gateway.update(&options).await.map_err(to_js)?;
            serde_json::to_string(&summary).map_err(|e| invalid(e.to_string()))
        })
    }
}

/// Checks `ServicesPlugin` options without starting anything (errors name the field).
#[napi]
pub fn check_services_options(options: serde_json::Value) -> Result<()> {
    Gateway::from_json(&options).map(drop).map_err(to_js)
}
