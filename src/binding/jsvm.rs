//! The script VM as JavaScript sees it: `NativeEngine.attachJsvm(options,
//! layers, wake)` starts the pool (generation 1), puts its hook routes on the
//! service as dynamic routes inside `layers`, mounts the admin endpoints, and
//! returns a `NativeJsvm`. Scripts' `events.emit` reach JS in batches after
//! one wake-up, as requests do.
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::engine::{app_error, invalid, NativeEngine};
use super::error::to_js;
use nebula_core::app::ScriptEventQueue;
use nebula_core::jsvm::{Jsvm, JsvmConfig};

#[napi]
pub struct NativeJsvm {
    jsvm: Arc<Jsvm>,
    events: Arc<ScriptEventQueue>,
}

#[napi]
impl NativeEngine {
    /// Starts the script VM (options as `JsvmPlugin` takes them); its hook
    /// routes run inside the native layers `layers` (outermost first).
    #[napi]
    pub fn attach_jsvm(
        &mut self,
        options: serde_json::Value,
        layers: Vec<u32>,
        wake: Function<(), ()>,
    ) -> Result<NativeJsvm> {
        let (config, admin_token) = read_options(&options)?;
        let layers = self.natives.resolve(&layers)?;
        let waker = super::wake::waker(wake)?;
        let (jsvm, events) = self
            .app
            .attach_jsvm(config, admin_token, layers, waker)
            .map_err(app_error)?;
        Ok(NativeJsvm { jsvm, events })
    }
}

/// The VM's options, and the admin token (an option of the engine's admin endpoints, not of the VM).
fn read_options(options: &serde_json::Value) -> Result<(JsvmConfig, Option<String>)> {
    let token = match options.get("adminToken") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(t)) if t.len() >= 16 => Some(t.clone()),
        Some(_) => {
            return Err(invalid(
                "jsvm: adminToken must be a string of at least 16 characters",
            ))
        }
    };
    let mut rest = options.clone();
    if let Some(obj) = rest.as_object_mut() {
        obj.remove("adminToken");
    }
    let config = JsvmConfig::from_json(&rest).map_err(to_js)?;
    Ok((config, token))
}

#[napi]
impl NativeJsvm {
    /// Waiting script events, flat: `[name, dataJson, …]`.
    #[napi]
    pub fn take_events(&self) -> Vec<String> {
        let events = self.events.take();
        let mut flat = Vec::with_capacity(events.len() * 2);
        for (name, data) in events {
            flat.push(name);
            flat.push(data);
        }
        flat
    }

    /// `engine.jsvm.emit(name, data)` → the scripts' `app.on(name, fn)`.
    #[napi]
    pub fn emit(&self, name: String, data_json: String) {
        self.jsvm.emit(&name, &data_json);
    }

    /// Builds a new generation from the files (off the JS thread); resolves
    /// to its number, rejects with the load error (the old one keeps serving).
    #[napi(ts_return_type = "Promise<number>")]
    pub fn reload<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, u32>> {
        let jsvm = self.jsvm.clone();
        env.spawn_future(async move {
            let built = tokio::task::spawn_blocking(move || jsvm.reload())
                .await
                .map_err(|e| Error::new(Status::GenericFailure, format!("jsvm reload: {e}")))?;
            built
                .map(|g| g as u32)
                .map_err(|e| Error::new(Status::GenericFailure, format!("jsvm: {e}")))
        })
    }

    #[napi]
    pub fn stats(&self) -> String {
        self.jsvm.stats().to_string()
    }

    #[napi]
    pub fn hooks(&self) -> String {
        self.jsvm.hooks().to_string()
    }

    #[napi]
    pub fn plugins(&self) -> String {
        self.jsvm.plugins().to_string()
    }

    /// Stops the VM (onTerminate, cron, watcher, runtimes); idempotent. The
    /// engine calls it when it closes; `JsvmPlugin.onDestroy` too, for an
    /// engine that never listened.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn shutdown<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let jsvm = self.jsvm.clone();
        env.spawn_future(async move {
            let _ = tokio::task::spawn_blocking(move || jsvm.shutdown()).await;
            Ok(())
        })
    }

    /// False when there is no plugin `id`.
    #[napi]
    pub fn set_plugin_enabled(&self, id: String, enabled: bool) -> bool {
        self.jsvm.set_plugin_enabled(&id, enabled)
    }
}

/// Checks `JsvmPlugin` options without starting anything (errors name the option).
#[napi]
pub fn check_jsvm_options(options: serde_json::Value) -> Result<()> {
    read_options(&options).map(drop)
}
