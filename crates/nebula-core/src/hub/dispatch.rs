//! The dispatcher: a client's text message routed on `message_type` to a
//! built-in type or to a TypeScript handler. Every refusal is answered with
//! an `error` message whose `request_id` is the request's `message_id`.
use std::sync::Arc;
use std::time::Instant;

use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::client::Client;
use super::identity;
use super::metrics::HubMetrics;
use super::protocol::{self, ErrorCode, HubError, Inbound};
use super::state::Hub;

const BUILTIN: [&str; 5] = [
    protocol::PING,
    protocol::JOIN_ROOM,
    protocol::LEAVE_ROOM,
    protocol::ROOM_MESSAGE,
    protocol::DIRECT_MESSAGE,
];

/// Whether `t` is one of the built-in message types (or a reply type the hub sends).
pub fn is_builtin(t: &str) -> bool {
    BUILTIN.contains(&t)
        || [
            protocol::PONG,
            protocol::ROOM_JOINED,
            protocol::ROOM_LEFT,
            protocol::ERROR,
        ]
        .contains(&t)
}

impl Hub {
    /// Handles one text message from `client`.
    pub fn on_text(&self, client: &Arc<Client>, text: &str) {
        let started = Instant::now();
        HubMetrics::inc(&self.metrics.messages);
        HubMetrics::add(&self.metrics.bytes_received, text.len() as u64);
        self.metrics.message_size.observe(text.len() as f64);
        let outcome = match protocol::parse(text) {
            Ok(msg) if !client.limiter.allow() => Err((
                msg.message_id,
                HubError::with_details(
                    ErrorCode::RateLimited,
                    format!(
                        "at most {} messages per second",
                        self.config.max_messages_per_second
                    ),
                ),
            )),
            Ok(msg) => {
                let id = msg.message_id;
                self.route(client, msg).map_err(|e| (id, e))
            }
            Err(e) => Err(e),
        };
        if let Err((request_id, err)) = outcome {
            self.send_error(client, &err, request_id);
        }
        self.metrics.observe_latency(started.elapsed());
    }

    /// A binary frame: the hub speaks JSON text only.
    pub fn on_binary(&self, client: &Client, len: usize) {
        HubMetrics::inc(&self.metrics.messages);
        HubMetrics::add(&self.metrics.bytes_received, len as u64);
        let err = HubError::with_details(
            ErrorCode::InvalidFormat,
            "binary frames are not supported: send JSON text",
        );
        self.send_error(client, &err, 0);
    }

    fn route(&self, client: &Arc<Client>, msg: Inbound<'_>) -> Result<(), HubError> {
        let id = msg.message_id;
        match &*msg.message_type {
            protocol::PING => {
                let ts = field(msg.data, "ts").and_then(|v| v.as_u64());
                let now = protocol::now_ms();
                let rtt = ts.map(|t| now.saturating_sub(t));
                let data = json!({ "ts": ts, "server_ts": now, "rtt": rtt });
                self.send(
                    client,
                    &protocol::encode_value(protocol::PONG, &data, Some(id)),
                );
                Ok(())
            }
            protocol::JOIN_ROOM => {
                need(client, identity::JOIN_ROOM)?;
                let room = string_field(msg.data, "room_id", protocol::JOIN_ROOM)?;
                self.join(client, &room)?;
                let data = json!({ "room_id": room, "status": "joined" });
                self.send(
                    client,
                    &protocol::encode_value(protocol::ROOM_JOINED, &data, Some(id)),
                );
                Ok(())
            }
            protocol::LEAVE_ROOM => {
                let room = string_field(msg.data, "room_id", protocol::LEAVE_ROOM)?;
                self.leave(client, &room)?;
                let data = json!({ "room_id": room, "status": "left" });
                self.send(
                    client,
                    &protocol::encode_value(protocol::ROOM_LEFT, &data, Some(id)),
                );
                Ok(())
            }
            protocol::ROOM_MESSAGE => {
                need(client, identity::SEND_MESSAGE)?;
                let room = string_field(msg.data, "room_id", protocol::ROOM_MESSAGE)?;
                let content = raw_field(msg.data, "content", protocol::ROOM_MESSAGE)?;
                super::rooms::check_room_id(&room)?;
                if !client.rooms.lock().contains(room.as_str()) {
                    return Err(HubError::with_details(ErrorCode::NotInRoom, room));
                }
                HubMetrics::inc(&self.metrics.room_messages);
                let data = format!(
                    r#"{{"room_id":{},"content":{},"sender_id":{},"timestamp":{}}}"#,
                    Value::from(room.as_str()),
                    content.get(),
                    Value::from(client.id()),
                    protocol::now_ms()
                );
                self.to_room(&room, protocol::ROOM_MESSAGE, &data, Some(client.id()))?;
                Ok(())
            }
            protocol::DIRECT_MESSAGE => {
                need(client, identity::SEND_MESSAGE)?;
                let target = string_field(msg.data, "target_id", protocol::DIRECT_MESSAGE)?;
                let content = raw_field(msg.data, "content", protocol::DIRECT_MESSAGE)?;
                HubMetrics::inc(&self.metrics.direct_messages);
                let data = format!(
                    r#"{{"content":{},"sender_id":{},"timestamp":{}}}"#,
                    content.get(),
                    Value::from(client.id()),
                    protocol::now_ms()
                );
                match self.to_client(&target, protocol::DIRECT_MESSAGE, &data, None) {
                    // Unknown here: maybe a client another node acknowledged
                    // a moment ago; every node is asked (a 4000 may follow).
                    Err(e) if e.code == ErrorCode::ClientNotFound && self.cluster().is_some() => {
                        let message = protocol::encode(protocol::DIRECT_MESSAGE, &data, None);
                        self.find_remote(client, &target, &message, id)
                    }
                    r => r,
                }
            }
            other => {
                let data = msg.data.map_or("null", RawValue::get);
                match self.scripts() {
                    Some(s) if s.handles(other) => s.message(client, other, data, id),
                    _ => self.to_owner(client, other, data, id, true),
                }
            }
        }
    }

    /// A custom message the hook scripts passed on (every handler called
    /// `e.next()`): to the TypeScript handler of its type, if there is one.
    pub fn pass_on(&self, client: &Arc<Client>, message_type: &str, data: &str, message_id: u64) {
        if let Err(e) = self.to_owner(client, message_type, data, message_id, false) {
            self.send_error(client, &e, message_id);
        }
    }

    /// To the TypeScript handler of `message_type`, checking its permission.
    /// Without a handler: an `Unknown` error when `required`, else nothing.
    pub fn to_owner(
        &self,
        client: &Arc<Client>,
        message_type: &str,
        data: &str,
        message_id: u64,
        required: bool,
    ) -> Result<(), HubError> {
        let permission = match self.handlers.read().get(message_type) {
            Some(p) => p.clone(),
            None if required => {
                return Err(HubError::with_details(
                    ErrorCode::Unknown,
                    format!("no handler for message type {message_type:?}"),
                ))
            }
            None => return Ok(()),
        };
        if let Some(p) = permission {
            need(client, &p)?;
        }
        self.events()
            .message(client, message_type, data, message_id)
    }
}

fn need(client: &Client, permission: &str) -> Result<(), HubError> {
    if client.identity.can(permission) {
        Ok(())
    } else {
        Err(HubError::with_details(
            ErrorCode::Forbidden,
            format!("permission {permission} required"),
        ))
    }
}

fn field(data: Option<&RawValue>, name: &str) -> Option<Value> {
    let data: Value = serde_json::from_str(data?.get()).ok()?;
    data.get(name).cloned()
}

fn string_field(
    data: Option<&RawValue>,
    name: &str,
    message_type: &str,
) -> Result<String, HubError> {
    match field(data, name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(HubError::with_details(
            ErrorCode::InvalidFormat,
            format!("{message_type} needs data.{name} (a non-empty string)"),
        )),
    }
}

/// A field kept as raw JSON (message content is passed on without re-encoding).
fn raw_field<'a>(
    data: Option<&'a RawValue>,
    name: &str,
    message_type: &str,
) -> Result<&'a RawValue, HubError> {
    let missing = || {
        HubError::with_details(
            ErrorCode::InvalidFormat,
            format!("{message_type} needs data.{name}"),
        )
    };
    let data = data.ok_or_else(missing)?;
    let map: std::collections::HashMap<&str, &'a RawValue> =
        serde_json::from_str(data.get()).map_err(|_| missing())?;
    map.get(name).copied().ok_or_else(missing)
}
