//! The keys of request locals (`ctx.set(key, value)` in JavaScript) that one
//! part of the engine writes and another reads.

/// The request id the logger plugin gives a request (the gateway forwards it).
pub const REQUEST_ID: &str = "requestId";

/// The verified JWT claims the jwt plugin hands on (the gateway forwards them).
pub const USER: &str = "user";
