//! The hub as JavaScript sees it: `NativeEngine.attachHub(options, wake)`
//! mounts it on the engine's app and returns a `NativeHub` (the server SDK).
//! Events wait in the app's hub event queue (`nebula_core::app::hub_events`,
//! where its backpressure is) and are taken in batches after one wake-up.
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::json;

use super::engine::{app_error, invalid, NativeEngine};
use super::error::to_js;
use nebula_core::app::{HubEvent, HubEventQueue};
use nebula_core::hub::{ErrorCode, Hub, HubConfig, HubError};

/// The server SDK over one hub.
#[napi]
pub struct NativeHub {
    hub: Arc<Hub>,
    events: Arc<HubEventQueue>,
}

fn hub_error(e: HubError) -> Error {
    Error::new(Status::GenericFailure, format!("[{}] {e}", e.code.code()))
}

#[napi]
impl NativeEngine {
    /// Mounts a hub (options as `HubPlugin` takes them) on this engine's
    /// server; `wake` is called when events wait (`NativeHub.takeEvents()`).
    #[napi]
    pub fn attach_hub(
        &mut self,
        options: serde_json::Value,
        wake: Function<(), ()>,
    ) -> Result<NativeHub> {
        let config = HubConfig::from_json(&options).map_err(to_js)?;
        let waker = super::wake::waker(wake)?;
        let (hub, events) = self.app.attach_hub(config, waker).map_err(app_error)?;
        Ok(NativeHub { hub, events })
    }
}

#[napi]
impl NativeHub {
    /// Waiting events, flat: 6 values each — kind (0 connect, 1 disconnect,
    /// 2 join, 3 leave, 4 message), client id, connection seq, then
    /// connect: info JSON · disconnect: code, reason · join/leave: room ·
    /// message: type, data JSON, message_id.
    #[napi(ts_return_type = "Array<any>")]
    pub fn take_events<'env>(&self, env: &'env Env) -> Result<Array<'env>> {
        let events = self.events.take();
        let mut out = env.create_array((events.len() * 6) as u32)?;
        for (i, e) in events.into_iter().enumerate() {
            let b = (i * 6) as u32;
            let (kind, id, seq) = match &e {
                HubEvent::Connect { id, seq, .. } => (0, id.clone(), *seq),
                HubEvent::Disconnect { id, seq, .. } => (1, id.clone(), *seq),
                HubEvent::Join { id, seq, .. } => (2, id.clone(), *seq),
                HubEvent::Leave { id, seq, .. } => (3, id.clone(), *seq),
                HubEvent::Message { client, .. } => (4, client.id().to_owned(), client.seq),
            };
            out.set(b, kind)?;
            out.set(b + 1, id)?;
            out.set(b + 2, seq as f64)?;
            match e {
                HubEvent::Connect { info, .. } => out.set(b + 3, info)?,
                HubEvent::Disconnect { code, reason, .. } => {
                    out.set(b + 3, u32::from(code))?;
                    out.set(b + 4, reason)?;
                }
                HubEvent::Join { room, .. } | HubEvent::Leave { room, .. } => {
                    out.set(b + 3, room)?
                }
                HubEvent::Message {
                    kind,
                    data,
                    message_id,
                    ..
                } => {
                    out.set(b + 3, kind)?;
                    out.set(b + 4, data)?;
                    out.set(b + 5, message_id as f64)?;
                }
            }
        }
        Ok(out)
    }

    /// Routes `messageType` to JavaScript; `permission` is required of senders when given.
    #[napi]
    pub fn register_type(&self, message_type: String, permission: Option<String>) -> Result<()> {
        self.hub
            .register_handler(&message_type, permission)
            .map_err(to_js)
    }

    /// Every connected client; `data` is JSON. Returns how many it was queued for.
    #[napi]
    pub fn broadcast(&self, message_type: String, data: String) -> u32 {
        self.hub.broadcast(&message_type, &data) as u32
    }

    #[napi]
    pub fn to_room(
        &self,
        room: String,
        message_type: String,
        data: String,
        except: Option<String>,
    ) -> Result<u32> {
        self.hub
            .to_room(&room, &message_type, &data, except.as_deref())
            .map(|n| n as u32)
            .map_err(hub_error)
    }

    /// False when the client is not connected.
    #[napi]
    pub fn to_client(&self, id: String, message_type: String, data: String) -> bool {
        self.hub.to_client(&id, &message_type, &data, None).is_ok()
    }

    /// Answers message `requestId` of connection `seq`.
    #[napi]
    pub fn reply(
        &self,
        id: String,
        seq: f64,
        message_type: String,
        data: String,
        request_id: f64,
    ) -> bool {
        self.hub
            .reply(&id, seq as u64, &message_type, &data, request_id as u64)
    }

    /// Answers message `requestId` of connection `seq` with an `error` message.
    #[napi]
    pub fn reply_error(
        &self,
        id: String,
        seq: f64,
        code: u32,
        message: Option<String>,
        request_id: f64,
    ) -> bool {
        let code = u16::try_from(code)
            .ok()
            .and_then(ErrorCode::from_code)
            .unwrap_or(ErrorCode::ServerError);
        let mut err = HubError::new(code);
        err.details = message;
        self.hub
            .reply_error(&id, seq as u64, &err, request_id as u64)
    }

    /// The new room as JSON.
    #[napi]
    pub fn create_room(
        &self,
        id: String,
        name: Option<String>,
        max_clients: Option<u32>,
    ) -> Result<String> {
        self.hub
            .create_room(&id, name.as_deref(), max_clients.unwrap_or(0) as usize)
            .map(|v| v.to_string())
            .map_err(hub_error)
    }

    /// False when there is no such room.
    #[napi]
    pub fn delete_room(&self, id: String) -> bool {
        self.hub.delete_room(&id).is_ok()
    }

    /// JSON list of rooms.
    #[napi]
    pub fn rooms(&self) -> String {
        serde_json::Value::from(self.hub.rooms_info()).to_string()
    }

    /// One room with its members, as JSON; null when absent.
    #[napi]
    pub fn room(&self, id: String) -> Option<String> {
        self.hub.room_info(&id).map(|v| v.to_string())
    }

    /// JSON list of connected clients.
    #[napi]
    pub fn clients(&self) -> String {
        serde_json::Value::from(self.hub.clients_info()).to_string()
    }

    /// JSON counters.
    #[napi]
    pub fn stats(&self) -> String {
        let mut s = self.hub.stats();
        s["counters"]["refused_for_js"] = json!(self.events.refused());
        s.to_string()
    }

    /// Closes client `id`'s connection (only connection `seq`, when given); false when not connected.
    #[napi]
    pub fn disconnect(
        &self,
        id: String,
        code: Option<u32>,
        reason: Option<String>,
        seq: Option<f64>,
    ) -> Result<bool> {
        let code = match code {
            None => None,
            Some(c) if (3000..=4999).contains(&c) || c == 1000 || c == 1001 || c == 1008 => {
                Some(c as u16)
            }
            Some(c) => {
                return Err(invalid(format!(
                    "close code {c} not allowed: use 1000, 1001, 1008 or 3000-4999"
                )))
            }
        };
        let reason = reason.as_deref().unwrap_or("disconnected by the server");
        Ok(self.hub.kick(&id, seq.map(|s| s as u64), code, reason))
    }

    /// Sends to connection `seq` of client `id` only; false when it is gone.
    #[napi]
    pub fn to_connection(&self, id: String, seq: f64, message_type: String, data: String) -> bool {
        self.hub
            .to_connection(&id, seq as u64, &message_type, &data)
    }
}

/// Checks `HubPlugin` options without creating a hub (errors name the option).
#[napi]
pub fn check_hub_options(options: serde_json::Value) -> Result<()> {
    HubConfig::from_json(&options).map(drop).map_err(to_js)
}
