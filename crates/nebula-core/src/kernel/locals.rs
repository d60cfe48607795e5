//! The keys of request locals (`ctx.set(key, value)` in JavaScript) that one
//! part of the engine writes and another reads.

/// The request id the logger plugin gives a request (the gateway forwards it).
pub const REQUEST_ID: &str = "requestId";

/// Longest request id accepted from a client.
pub const REQUEST_ID_MAX_LEN: usize = 128;

/// A request id a client may set (and a worker may hand back): 1 to
/// [`REQUEST_ID_MAX_LEN`] visible ASCII characters (no spaces, no controls).
pub fn is_sane_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= REQUEST_ID_MAX_LEN
        && value.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// The verified JWT claims the jwt plugin hands on (the gateway forwards them).
pub const USER: &str = "user";
