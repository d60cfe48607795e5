//! HTTP: server, router, limits, static files, in-process requests.
//!
//! May import `kernel` and `support` (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
pub mod body;
pub mod body_read;
pub mod body_stream;
pub mod config;
pub mod dispatch;
pub mod dynamic;
#[cfg(unix)]
pub mod h1;
pub mod js_chain;
pub mod mount;
pub mod normalize;
mod pipeline;
pub mod reply;
pub mod reply_convert;
mod request_head;
pub mod router;
mod routing;
pub mod server;
pub mod service;
pub mod static_files;
pub mod validate;

pub use config::ServerConfig;
pub use dispatch::{AnswerHeader, DispatchError, Dispatcher, JsRequest, JsResponse};
pub use dynamic::{DynCall, DynMatch, DynRequest, DynamicRoutes};
pub use mount::{Mount, MountRequest};
pub use service::{AppInfo, Service, ServiceBuilder};
