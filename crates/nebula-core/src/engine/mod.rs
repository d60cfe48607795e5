//! Plugin registry ordering and the wrap-chain planner (pure Rust).
//!
//! The JavaScript face keeps the plugin objects; this module decides, once at
//! start, in which order their hooks run and in which order each handler's
//! wrappers nest. Nothing here runs per request.
//!
//! May import nothing else of the crate but `kernel` (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
pub mod chain;
pub mod priority;

pub use chain::{plan_chain, ChainPlan, LayerSpec, Owner};
pub use priority::{plan_plugins, PlanError, PluginOrder, PluginSpec, Priority};
