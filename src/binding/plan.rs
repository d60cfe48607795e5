//! Plugin order and chain plans, computed by `nebula_core::engine` for the JS face.
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::error::to_js;
use nebula_core::engine::{self, LayerSpec, Owner, PluginSpec};

#[napi(object)]
pub struct JsPluginSpec {
    pub name: String,
    pub priority: Option<f64>,
}

#[napi(object)]
pub struct JsPluginOrder {
    /// Registration indices, by ascending priority (stable).
    pub sorted: Vec<u32>,
    /// Whether `sorted[k]` has priority exactly ROUTE.
    pub is_route: Vec<bool>,
}

#[napi(object)]
pub struct JsLayerSpec {
    /// Registration index of the plugin whose hook called wrap(); -1 outside any hook.
    pub plugin: i32,
    pub native: bool,
}

#[napi(object)]
pub struct JsChainPlan {
    /// Indices into the handler's wrap calls, outermost first.
    pub layers: Vec<u32>,
    pub native_prefix: u32,
}

fn specs(plugins: Vec<JsPluginSpec>) -> Vec<PluginSpec> {
    plugins
        .into_iter()
        .map(|p| PluginSpec {
            name: p.name,
            priority: p.priority,
        })
        .collect()
}

#[napi]
pub fn plan_plugins(plugins: Vec<JsPluginSpec>) -> Result<JsPluginOrder> {
    let order = engine::plan_plugins(&specs(plugins)).map_err(to_js)?;
    Ok(JsPluginOrder {
        sorted: order.sorted.iter().map(|&i| i as u32).collect(),
        is_route: order.is_route,
    })
}

#[napi]
pub fn plan_chains(
    plugins: Vec<JsPluginSpec>,
    handlers: Vec<Vec<JsLayerSpec>>,
) -> Result<Vec<JsChainPlan>> {
    let order = engine::plan_plugins(&specs(plugins)).map_err(to_js)?;
    handlers
        .into_iter()
        .map(|wraps| {
            let wraps: Vec<LayerSpec> = wraps
                .into_iter()
                .map(|w| LayerSpec {
                    owner: if w.plugin < 0 {
                        Owner::Outside
                    } else {
                        Owner::Plugin(w.plugin as usize)
                    },
                    native: w.native,
                })
                .collect();
            let plan = engine::plan_chain(&order, &wraps).map_err(to_js)?;
            Ok(JsChainPlan {
                layers: plan.layers.iter().map(|&i| i as u32).collect(),
                native_prefix: plan.native_prefix as u32,
            })
        })
        .collect()
}
