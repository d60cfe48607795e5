//! GoHub's wire format: JSON text frames
//! `{"message_id", "message_type", "data", "request_id"?, "client_id"?, "timestamp"?}`,
//! and its error codes.
//!
//! Outgoing messages are serialized here once; the hub then frames them once
//! and shares the bytes with every recipient.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::Value;

/// The built-in message types.
pub const PING: &str = "ping";
pub const PONG: &str = "pong";
pub const JOIN_ROOM: &str = "join_room";
pub const ROOM_JOINED: &str = "room_joined";
pub const LEAVE_ROOM: &str = "leave_room";
pub const ROOM_LEFT: &str = "room_left";
pub const ROOM_MESSAGE: &str = "room_message";
pub const DIRECT_MESSAGE: &str = "direct_message";
pub const ERROR: &str = "error";

/// Largest accepted `message_id` (JavaScript's largest safe integer).
pub const MAX_MESSAGE_ID: u64 = (1 << 53) - 1;

/// Longest accepted `message_type` (bytes).
pub const MAX_TYPE_LEN: usize = 128;

/// GoHub's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unknown = 1000,
    InvalidFormat = 1001,
    InvalidMessageId = 1002,
    ServerError = 1003,
    Timeout = 1004,
    RateLimited = 1005,
    Unauthorized = 2000,
    Forbidden = 2001,
    TokenExpired = 2002,
    InvalidToken = 2003,
    RoomNotFound = 3000,
    RoomExists = 3001,
    RoomFull = 3002,
    NotInRoom = 3003,
    AlreadyInRoom = 3004,
    ClientNotFound = 4000,
    ClientOffline = 4001,
    MessageTooLarge = 4002,
}

impl ErrorCode {
    pub fn code(self) -> u16 {
        self as u16
    }

    /// GoHub's message for the code.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::Unknown => "unknown message type",
            ErrorCode::InvalidFormat => "invalid message format",
            ErrorCode::InvalidMessageId => "invalid message id",
            ErrorCode::ServerError => "server error",
            ErrorCode::Timeout => "timeout",
            ErrorCode::RateLimited => "rate limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::TokenExpired => "token expired",
            ErrorCode::InvalidToken => "invalid token",
            ErrorCode::RoomNotFound => "room not found",
            ErrorCode::RoomExists => "room already exists",
            ErrorCode::RoomFull => "room is full",
            ErrorCode::NotInRoom => "not in room",
            ErrorCode::AlreadyInRoom => "already in room",
            ErrorCode::ClientNotFound => "client not found",
            ErrorCode::ClientOffline => "client offline",
            ErrorCode::MessageTooLarge => "message too large",
        }
    }

    /// The code for a number (e.g. from a TypeScript handler's error).
    pub fn from_code(code: u16) -> Option<ErrorCode> {
        use ErrorCode::*;
        [
            Unknown,
            InvalidFormat,
            InvalidMessageId,
            ServerError,
            Timeout,
            RateLimited,
            Unauthorized,
            Forbidden,
            TokenExpired,
            InvalidToken,
            RoomNotFound,
            RoomExists,
            RoomFull,
            NotInRoom,
            AlreadyInRoom,
            ClientNotFound,
            ClientOffline,
            MessageTooLarge,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// An error to send back: code, message, optional details.
#[derive(Debug, Clone, PartialEq)]
pub struct HubError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<String>,
}

impl HubError {
    pub fn new(code: ErrorCode) -> Self {
        HubError {
            code,
            message: code.message().to_owned(),
            details: None,
        }
    }

    pub fn with_details(code: ErrorCode, details: impl Into<String>) -> Self {
        HubError {
            code,
            message: code.message().to_owned(),
            details: Some(details.into()),
        }
    }
}

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.code())?;
        if let Some(d) = &self.details {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// A message from a client, as parsed. `data` stays raw JSON (handed on as is).
#[derive(Debug)]
pub struct Inbound<'a> {
    /// The client's `message_id` (0 when absent): echoed as `request_id`.
    pub message_id: u64,
    pub message_type: std::borrow::Cow<'a, str>,
    pub data: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
struct Wire<'a> {
    #[serde(default)]
    message_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    message_type: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// Parses one text frame. On failure, the error carries the `message_id` if
/// it could be read, so the reply still names the request.
pub fn parse(text: &str) -> Result<Inbound<'_>, (u64, HubError)> {
    let wire: Wire<'_> = serde_json::from_str(text).map_err(|e| {
        (
            0,
            HubError::with_details(ErrorCode::InvalidFormat, format!("not a JSON message: {e}")),
        )
    })?;
    let message_id = match wire.message_id {
        None => 0,
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Null) => 0,
            // Ids travel through JavaScript numbers: at most 2^53 - 1.
            Ok(v) => v.as_u64().filter(|n| *n <= MAX_MESSAGE_ID).ok_or_else(|| {
                (
                    0,
                    HubError::with_details(
                        ErrorCode::InvalidMessageId,
                        "message_id must be an integer from 0 to 9007199254740991",
                    ),
                )
            })?,
            Err(_) => 0,
        },
    };
    let message_type = wire.message_type.and_then(|raw| {
        // Borrowed when the string has no escapes.
        serde_json::from_str::<&str>(raw.get())
            .map(std::borrow::Cow::Borrowed)
            .or_else(|_| serde_json::from_str::<String>(raw.get()).map(std::borrow::Cow::Owned))
            .ok()
    });
    let message_type = match message_type {
        Some(t) if !t.is_empty() && t.len() <= MAX_TYPE_LEN => t,
        _ => {
            return Err((
                message_id,
                HubError::with_details(
                    ErrorCode::InvalidFormat,
                    format!("message_type must be a string of 1 to {MAX_TYPE_LEN} bytes"),
                ),
            ))
        }
    };
    Ok(Inbound {
        message_id,
        message_type,
        data: wire.data,
    })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Serializes an outgoing message. `data` must be valid JSON (it is embedded
/// as is); `request_id` is the `message_id` of the request it answers.
pub fn encode(message_type: &str, data: &str, request_id: Option<u64>) -> Bytes {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut out = String::with_capacity(data.len() + message_type.len() + 96);
    out.push_str(r#"{"message_id":"#);
    out.push_str(&id.to_string());
    out.push_str(r#","message_type":"#);
    out.push_str(&Value::from(message_type).to_string());
    out.push_str(r#","data":"#);
    out.push_str(if data.is_empty() { "null" } else { data });
    if let Some(r) = request_id {
        out.push_str(r#","request_id":"#);
        out.push_str(&r.to_string());
    }
    out.push_str(r#","timestamp":"#);
    out.push_str(&now_ms().to_string());
    out.push('}');
    Bytes::from(out)
}

/// Serializes `data` (a JSON value) into a message.
pub fn encode_value(message_type: &str, data: &Value, request_id: Option<u64>) -> Bytes {
    encode(message_type, &data.to_string(), request_id)
}

/// An `error` message answering request `request_id` (omitted when 0).
pub fn encode_error(err: &HubError, request_id: u64) -> Bytes {
    let mut data = serde_json::json!({
        "code": err.code.code(),
        "message": err.message,
        "request_id": request_id,
    });
    if let Some(d) = &err.details {
        data["details"] = Value::from(d.as_str());
    }
    encode_value(ERROR, &data, (request_id != 0).then_some(request_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gohub_messages() {
        let m = parse(r#"{"message_id":7,"message_type":"join_room","data":{"room_id":"lobby"}}"#)
            .unwrap();
        assert_eq!(m.message_id, 7);
        assert_eq!(m.message_type, "join_room");
        assert_eq!(m.data.unwrap().get(), r#"{"room_id":"lobby"}"#);
    }

    #[test]
    fn message_id_is_optional_but_must_be_an_integer() {
        assert_eq!(parse(r#"{"message_type":"ping"}"#).unwrap().message_id, 0);
        let (id, err) = parse(r#"{"message_id":"x","message_type":"ping"}"#).unwrap_err();
        assert_eq!((id, err.code), (0, ErrorCode::InvalidMessageId));
        let (_, err) = parse(r#"{"message_id":-1,"message_type":"ping"}"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidMessageId);
        let (_, err) =
            parse(r#"{"message_id":9007199254740992,"message_type":"ping"}"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidMessageId);
    }

    #[test]
    fn bad_frames_are_invalid_format_with_the_request_id_when_known() {
        let (id, err) = parse("not json").unwrap_err();
        assert_eq!((id, err.code), (0, ErrorCode::InvalidFormat));
        let (id, err) = parse(r#"{"message_id":3}"#).unwrap_err();
        assert_eq!((id, err.code), (3, ErrorCode::InvalidFormat));
        let (id, err) = parse(r#"{"message_id":4,"message_type":5}"#).unwrap_err();
        assert_eq!((id, err.code), (4, ErrorCode::InvalidFormat));
        let (_, err) = parse(r#"[1,2]"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidFormat);
    }

    #[test]
    fn encoded_messages_are_gohub_json() {
        let b = encode("room_joined", r#"{"room_id":"a"}"#, Some(9));
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["message_type"], "room_joined");
        assert_eq!(v["data"]["room_id"], "a");
        assert_eq!(v["request_id"], 9);
        assert!(v["message_id"].as_u64().unwrap() > 0);
        assert!(v["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
        let v: Value = serde_json::from_slice(&encode("x\"y", "", None)).unwrap();
        assert_eq!(v["message_type"], "x\"y");
        assert!(v["data"].is_null());
        assert!(v.get("request_id").is_none());
    }

    #[test]
    fn errors_carry_code_message_and_request_id() {
        let e = HubError::with_details(ErrorCode::RoomFull, "lobby");
        let v: Value = serde_json::from_slice(&encode_error(&e, 12)).unwrap();
        assert_eq!(v["message_type"], "error");
        assert_eq!(v["request_id"], 12);
        assert_eq!(v["data"]["code"], 3002);
        assert_eq!(v["data"]["message"], "room is full");
        assert_eq!(v["data"]["request_id"], 12);
        assert_eq!(v["data"]["details"], "lobby");
        assert_eq!(ErrorCode::from_code(2001), Some(ErrorCode::Forbidden));
        assert_eq!(ErrorCode::from_code(1234), None);
    }
}
