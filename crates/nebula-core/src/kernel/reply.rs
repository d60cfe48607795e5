//! A reply on its way back through the layers, and the JSON error body every
//! part of the engine answers with.
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, StatusCode};

/// The content type of every JSON answer the engine writes.
pub const JSON_TYPE: &str = "application/json; charset=utf-8";

/// The one JSON error body: `{"error": <reason phrase>, "message": <detail>}`.
pub fn error_body(status: StatusCode, message: &str) -> String {
    error_json(status.canonical_reason().unwrap_or("Error"), message).to_string()
}

/// `{"error": <error>, "message": <message>}` as a value, for answers that
/// name the error themselves or add fields (the hub adds `code`).
pub fn error_json(error: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": error, "message": message })
}

/// An answer while it travels back through the layers: all in memory, or
/// (a proxied answer) headers in memory and the body still streaming.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body, when it is in memory (empty when `stream` is set).
    pub body: Bytes,
    /// A body still arriving: layers that need the bytes (cache, compression)
    /// leave such a reply alone.
    pub stream: Option<Streamed>,
}

/// A response body that streams; taken once, when the response is sent.
#[derive(Clone)]
pub struct Streamed(Arc<parking_lot::Mutex<Option<StreamBody>>>);

/// The boxed body of a streamed reply.
pub type StreamBody = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

impl Streamed {
    pub fn new(body: StreamBody) -> Streamed {
        Streamed(Arc::new(parking_lot::Mutex::new(Some(body))))
    }

    /// The body; None if it was taken already.
    pub fn take(&self) -> Option<StreamBody> {
        self.0.lock().take()
    }
}

impl PartialEq for Streamed {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streamed")
    }
}

impl Reply {
    /// `{"error": <reason phrase>, "message": <detail>}`.
    pub fn error(status: StatusCode, message: &str) -> Reply {
        Reply::json(status, error_body(status, message))
    }

    /// A JSON body (already serialized).
    pub fn json(status: StatusCode, body: String) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
        Reply {
            status,
            headers,
            body: Bytes::from(body),
            stream: None,
        }
    }

    /// No body.
    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            stream: None,
        }
    }
}
