//! Native plugins: cross-cutting work done in Rust, in the handler's onion.
//!
//! Each plugin is a [`layer::NativePlugin`] created from its JSON options by
//! [`create`]; its JS face (index.js) takes its place in the priority order
//! like any TypeScript plugin.
//!
//! May import `kernel`, `support` and `auth` (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
pub mod cache;
pub mod compression;
pub mod cors;
pub mod error;
pub mod jwt;
pub mod logger;
pub mod metrics;
pub mod rate_limit;
pub mod shutdown;
pub mod swap;

use std::sync::Arc;

use crate::kernel::NativePlugin;
pub use error::PluginError;

/// Creates the native plugin `kind` from its options.
pub fn create(
    kind: &str,
    options: &serde_json::Value,
) -> Result<Arc<dyn NativePlugin>, PluginError> {
    match kind {
        "rate_limit" => rate_limit::create(options),
        "jwt" => jwt::create(options),
        "cors" => cors::create(options),
        "compression" => compression::create(options),
        "logger" => logger::create(options),
        "metrics" => metrics::create(options),
        "cache" => cache::create(options),
        "shutdown" => shutdown::create(options),
        other => Err(PluginError::UnknownKind(other.to_owned())),
    }
}
