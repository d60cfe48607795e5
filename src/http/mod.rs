//! HTTP: server, router, limits, static files, in-process requests.
pub mod body;
pub mod router;
pub mod static_files;
