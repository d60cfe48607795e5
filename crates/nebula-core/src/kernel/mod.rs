//! The onion's contract, at the bottom of the crate: replies, flows, layers,
//! endpoints, the one JSON error body, the engine's counters and the locals
//! keys that several modules share. It imports nothing else of the crate
//! (only `std` and the HTTP types); everything above may import it.
pub mod endpoint;
pub mod error;
pub mod layer;
pub mod locals;
pub mod reply;
pub mod stats;

pub use endpoint::{Endpoint, EndpointCtx, EndpointFn};
pub use error::{Classify, ErrorKind, LayerError};
#[cfg(test)]
pub(crate) use layer::TestRequest;
pub use layer::{run_layers, BoxFuture, Flow, LayerCtx, NativeLayer, NativePlugin};
pub use reply::{error_body, error_json, Reply, StreamBody, Streamed, JSON_TYPE};
pub use stats::{Stats, StatsSnapshot};
