//! metrics (stub: being written).
use std::sync::Arc;

use super::layer::NativePlugin;

pub fn create(_options: &serde_json::Value) -> Result<Arc<dyn NativePlugin>, String> {
    Err("metrics is not implemented yet".into())
}
