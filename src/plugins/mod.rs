//! Native plugins: cross-cutting work done in Rust, in the handler's onion.
//!
//! Each plugin is a [`layer::NativePlugin`] created from its JSON options by
//! [`create`]; its JS face (index.js) takes its place in the priority order
//! like any TypeScript plugin.
pub mod cache;
pub mod compression;
pub mod cors;
pub mod jwt;
pub mod layer;
pub mod logger;
pub mod metrics;
pub mod rate_limit;
pub mod shutdown;
pub mod swap;

use std::sync::Arc;

use layer::NativePlugin;

/// Creates the native plugin `kind` from its options.
pub fn create(kind: &str, options: &serde_json::Value) -> Result<Arc<dyn NativePlugin>, String> {
    match kind {
        "rate_limit" => rate_limit::create(options),
        "jwt" => jwt::create(options),
        "cors" => cors::create(options),
        "compression" => compression::create(options),
        "logger" => logger::create(options),
        "metrics" => metrics::create(options),
        "cache" => cache::create(options),
        "shutdown" => shutdown::create(options),
        other => Err(format!("unknown native plugin {other:?}")),
    }
}

/// Option `name` of a plugin's JSON options: absent (None), or an integer in
/// `min..=max`. JavaScript numbers may arrive as floats: whole ones are accepted.
pub(crate) fn int_option(
    options: &serde_json::Value,
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, String> {
    int_value(options.get(name), min, max)
        .map_err(|got| format!("{name} must be an integer from {min} to {max}, got {got}"))
}

/// An option's value: absent/null, or a whole number in `min..=max`
/// (JavaScript numbers may arrive as whole floats); else the value as given.
pub(crate) fn int_value(
    value: Option<&serde_json::Value>,
    min: u64,
    max: u64,
) -> Result<Option<u64>, String> {
    let value = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= min as f64 && *f <= max as f64)
            .map(|f| f as u64)
    });
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(value.to_string()),
    }
}
