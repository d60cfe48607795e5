//! The opening handshake (RFC 6455 section 4.2): checking a client's upgrade
//! request and computing `Sec-WebSocket-Accept`.
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hyper::header::{HeaderName, CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use hyper::{HeaderMap, Method, StatusCode};
use sha1::{Digest, Sha1};

/// The only protocol version we speak; a 426 answer carries it in
/// `Sec-WebSocket-Version`.
pub const VERSION: &str = "13";

/// Appended to the client's key before hashing (RFC 6455 section 1.3).
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why an upgrade request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The request is not a valid WebSocket upgrade; answer 400 with the message.
    BadRequest(String),
    /// `Sec-WebSocket-Version` is missing or not 13; answer 426 with
    /// `Sec-WebSocket-Version: 13`.
    UnsupportedVersion,
}

impl HandshakeError {
    /// The status to answer with: 400, or 426 Upgrade Required.
    pub fn status(&self) -> StatusCode {
        match self {
            HandshakeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HandshakeError::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
        }
    }

    /// A short text for the response body.
    pub fn message(&self) -> String {
        match self {
            HandshakeError::BadRequest(msg) => msg.clone(),
            HandshakeError::UnsupportedVersion => {
                format!("unsupported Sec-WebSocket-Version (this server speaks {VERSION})")
            }
        }
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for HandshakeError {}

/// Whether the request asks for a WebSocket: its `Upgrade` header lists the
/// token `websocket` (case-insensitive).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    has_token(headers, &UPGRADE, "websocket")
}

/// Checks an upgrade request and returns the `Sec-WebSocket-Accept` value to
/// answer 101 with.
///
/// The request must be a GET whose `Connection` lists `upgrade`, whose
/// `Upgrade` lists `websocket`, with `Sec-WebSocket-Version: 13` and a
/// `Sec-WebSocket-Key` that is the base64 of 16 bytes.
pub fn check(method: &Method, headers: &HeaderMap) -> Result<String, HandshakeError> {
    if method != Method::GET {
        return Err(bad("a WebSocket upgrade must be a GET request"));
    }
    if !has_token(headers, &CONNECTION, "upgrade") {
        return Err(bad("the Connection header must contain \"upgrade\""));
    }
    if !is_upgrade(headers) {
        return Err(bad("the Upgrade header must contain \"websocket\""));
    }
    let mut versions = headers.get_all(SEC_WEBSOCKET_VERSION).iter();
    match (versions.next(), versions.next()) {
        (Some(v), None) if v.as_bytes() == VERSION.as_bytes() => {}
        _ => return Err(HandshakeError::UnsupportedVersion),
    }
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => key,
        (None, _) => return Err(bad("missing Sec-WebSocket-Key")),
        (Some(_), Some(_)) => return Err(bad("more than one Sec-WebSocket-Key")),
    };
    let key = key
        .to_str()
        .map_err(|_| bad("Sec-WebSocket-Key is not base64"))?
        .trim();
    match STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => Ok(accept_key(key)),
        Ok(_) => Err(bad("Sec-WebSocket-Key must encode 16 bytes")),
        Err(_) => Err(bad("Sec-WebSocket-Key is not base64")),
    }
}

/// `base64(sha1(key + GUID))`: the `Sec-WebSocket-Accept` for a client key.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

fn bad(msg: &str) -> HandshakeError {
    HandshakeError::BadRequest(msg.to_owned())
}

/// Whether any `name` header, read as a comma-separated list, holds `token`
/// (case-insensitive).
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|b| *b == b',')
            .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

#[cfg(test)]
mod tests;
