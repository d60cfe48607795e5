//! Native plugins and layers as the JS face sees them: created by id, put on
//! routes, and callable from the JS chain when a native layer sits inside
//! TypeScript layers.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use super::engine::{flat_headers, header_pairs, invalid, NativeEngine};
use super::error::{failure, to_js};
use nebula_core::http::js_chain::{self, Before, ChainRequest, Decided, Held};
use nebula_core::http::reply_convert::into_reply;
use nebula_core::http::JsResponse;
use nebula_core::kernel::{NativeLayer, NativePlugin, Reply};
use nebula_core::plugins::swap::SwapLayer;

/// The engine's native plugins and layers, by id.
#[derive(Default)]
pub(super) struct Natives {
    plugins: Vec<Arc<dyn NativePlugin>>,
    layers: Vec<Arc<SwapLayer>>,
    /// Scratch space (and start time) of layers whose `before` ran from JS and
    /// whose `after` is still due, by token (shared with decisions still
    /// being awaited).
    held: Arc<Mutex<HashMap<u32, Held>>>,
    next: AtomicU32,
}

impl Natives {
    pub(super) fn resolve(&self, ids: &[u32]) -> Result<Vec<Arc<dyn NativeLayer>>> {
        ids.iter().map(|&id| self.layer(id)).collect()
    }

    fn layer(&self, id: u32) -> Result<Arc<dyn NativeLayer>> {
        self.swappable(id).map(|l| l as Arc<dyn NativeLayer>)
    }

    fn swappable(&self, id: u32) -> Result<Arc<SwapLayer>> {
        self.layers
            .get(id as usize)
            .cloned()
            .ok_or_else(|| invalid(format!("unknown native layer {id}")))
    }

    fn plugin(&self, id: u32) -> Result<Arc<dyn NativePlugin>> {
        self.plugins
            .get(id as usize)
            .cloned()
            .ok_or_else(|| invalid(format!("unknown native plugin {id}")))
    }
}

/// The request as a native layer called from JavaScript sees it.
#[napi(object)]
pub struct LayerRequest {
    pub method: String,
    pub target: String,
    pub route: String,
    /// `[name, value, …]`, names lowercase.
    pub headers: Vec<String>,
    /// The client's address, if known.
    pub peer: Option<String>,
    /// Values earlier native layers handed over: `[key, json, …]`.
    pub locals: Option<Vec<String>>,
}

/// An answer crossing the boundary.
#[napi(object)]
pub struct WireReply {
    pub status: u32,
    pub headers: Vec<String>,
    pub body: Buffer,
}

#[napi(object)]
pub struct LayerVerdict {
    /// Set when the layer answered: the inner layers must not run.
    pub respond: Option<WireReply>,
    /// Values for `ctx.set(key, value)`: `[key, json, …]`.
    pub locals: Vec<String>,
    /// Pass to `layerAfter`.
    pub token: u32,
}

fn to_wire(reply: Reply) -> WireReply {
    WireReply {
        status: u32::from(reply.status.as_u16()),
        headers: flat_headers(&reply.headers),
        body: Buffer::from(reply.body.to_vec()),
    }
}

fn header_map(flat: Vec<String>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in header_pairs(flat) {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(&v),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// The request from JavaScript as the core's JS-chain runner takes it.
fn chain_request(req: LayerRequest) -> Result<ChainRequest> {
    let method = Method::from_bytes(req.method.as_bytes())
        .map_err(|_| invalid(format!("invalid HTTP method {:?}", req.method)))?;
    let mut locals = Vec::new();
    let mut it = req.locals.unwrap_or_default().into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if let Ok(value) = serde_json::from_str(&v) {
            locals.push((k, value));
        }
    }
    Ok(ChainRequest {
        method,
        target: req.target,
        route: req.route,
        headers: header_map(req.headers),
        peer: req.peer.and_then(|p| p.parse().ok()),
        locals,
    })
}

/// A decision as JavaScript gets it; what `after` needs is kept under `token`.
fn verdict(held: &Mutex<HashMap<u32, Held>>, token: u32, decided: Decided) -> LayerVerdict {
    if let Some(h) = decided.held {
        held.lock().insert(token, h);
    }
    let mut flat = Vec::with_capacity(decided.added.len() * 2);
    for (k, v) in decided.added {
        flat.push(k);
        flat.push(v.to_string());
    }
    LayerVerdict {
        respond: decided.respond.map(to_wire),
        locals: flat,
        token,
    }
}

#[napi]
impl NativeEngine {
    /// Creates native plugin `kind` from its options; returns its id.
    #[napi]
    pub fn create_plugin(&mut self, kind: String, options: serde_json::Value) -> Result<u32> {
        let plugin = nebula_core::plugins::create(&kind, &options).map_err(to_js)?;
        let builder = self.builder()?;
        for e in plugin.endpoints() {
            builder.endpoint(e);
        }
        self.natives.plugins.push(plugin);
        Ok((self.natives.plugins.len() - 1) as u32)
    }

    /// The layer of `plugin` for one handler; null when that handler needs none.
    #[napi]
    pub fn create_layer(&mut self, plugin: u32, options: serde_json::Value) -> Result<Option<u32>> {
        let p = self.natives.plugin(plugin)?;
        match p.layer(&options).map_err(to_js)? {
            None => Ok(None),
            Some(layer) => {
                self.natives.layers.push(Arc::new(SwapLayer::new(layer)));
                Ok(Some((self.natives.layers.len() - 1) as u32))
            }
        }
    }

    /// Replaces native plugin `plugin` by one of `kind` made from new
    /// `options`, and each of `layers` by the layer it makes from the
    /// matching `layer_options`: all are made first, so an error changes
    /// nothing; then every request from now on meets the new ones. A plugin
    /// that serves endpoints of its own (metrics) cannot change while serving.
    #[napi]
    pub fn reconfigure_plugin(
        &mut self,
        plugin: u32,
        kind: String,
        options: serde_json::Value,
        layers: Vec<u32>,
        layer_options: Vec<serde_json::Value>,
    ) -> Result<()> {
        let old = self.natives.plugin(plugin)?;
        if !old.endpoints().is_empty() {
            return Err(invalid(format!(
                "{kind}: serves endpoints of its own, so its options cannot change while the engine runs (restart to apply)"
            )));
        }
        if layers.len() != layer_options.len() {
            return Err(invalid("one set of options per layer"));
        }
        let fresh = nebula_core::plugins::create(&kind, &options).map_err(to_js)?;
        let mut made = Vec::with_capacity(layers.len());
        for (id, opts) in layers.iter().zip(&layer_options) {
            let target = self.natives.swappable(*id)?;
            made.push((target, fresh.layer(opts).map_err(to_js)?));
        }
        for (target, layer) in made {
            target.swap(layer);
        }
        self.natives.plugins[plugin as usize] = fresh;
        // The old one finishes its buffered work (log lines) and goes.
        let _ = std::thread::Builder::new()
            .name("nebula-retire".into())
            .spawn(move || old.flush(std::time::Duration::from_secs(2)));
        Ok(())
    }

    /// Runs a layer's `before` from the JS chain (the layer sits inside a
    /// TypeScript layer): the verdict, or a promise of it when the layer must
    /// wait (I/O, awaited on the runtime rather than blocking Node's thread;
    /// the request does not go on before the layer has decided).
    #[napi(ts_return_type = "LayerVerdict | Promise<LayerVerdict>")]
    pub fn layer_before<'env>(
        &self,
        env: &'env Env,
        layer: u32,
        req: LayerRequest,
    ) -> Result<Either<LayerVerdict, PromiseRaw<'env, LayerVerdict>>> {
        let layer = self.natives.layer(layer)?;
        let req = chain_request(req)?;
        let token = self.natives.next.fetch_add(1, Ordering::Relaxed);
        match js_chain::before(layer, req) {
            Before::Now(decided) => Ok(Either::A(verdict(&self.natives.held, token, decided))),
            Before::Later(decision) => {
                let held = self.natives.held.clone();
                env.spawn_future(async move { Ok(verdict(&held, token, decision.await)) })
                    .map(Either::B)
            }
        }
    }

    /// Lets every native plugin finish buffered work (log lines), up to 2 s.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush_plugins<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let plugins = self.natives.plugins.clone();
        env.spawn_future(async move {
            tokio::task::spawn_blocking(move || {
                for p in plugins {
                    p.flush(std::time::Duration::from_secs(2));
                }
            })
            .await
            .map_err(|e| failure(format!("flushing plugins failed: {e}")))
        })
    }

    /// A plugin-specific operation of a layer (see `NativeLayer::call`).
    #[napi(ts_return_type = "Promise<any>")]
    pub fn layer_call<'env>(
        &self,
        env: &'env Env,
        layer: u32,
        op: String,
        arg: serde_json::Value,
    ) -> Result<PromiseRaw<'env, serde_json::Value>> {
        let layer = self.natives.layer(layer)?;
        let call = layer.call(&op, arg);
        env.spawn_future(async move { call.await.map_err(to_js) })
    }

    /// Runs a layer's `after` on the answer the inner layers gave.
    #[napi]
    pub fn layer_after(
        &self,
        layer: u32,
        token: u32,
        req: LayerRequest,
        reply: WireReply,
    ) -> Result<WireReply> {
        let layer = self.natives.layer(layer)?;
        let held = self.natives.held.lock().remove(&token);
        let req = chain_request(req)?;
        let mut reply = into_reply(JsResponse {
            status: u16::try_from(reply.status).unwrap_or(500),
            headers: header_pairs(reply.headers),
            body: Bytes::copy_from_slice(&reply.body),
            stream: None,
        });
        js_chain::after(&*layer, req, held, &mut reply);
        Ok(to_wire(reply))
    }
}
