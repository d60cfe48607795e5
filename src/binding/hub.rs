//! The hub as JavaScript sees it: `NativeEngine.attachHub(options, wake)`
//! mounts it on the engine's server and returns a `NativeHub` (the server
//! SDK). Events are queued here and taken in batches after one wake-up, as
//! requests are.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;
use serde_json::json;

use super::engine::{invalid, NativeEngine};
use super::wake::Wake;
use nebula_core::hub::{Client, ErrorCode, Hub, HubConfig, HubError, HubEvents, HubMount};

/// Custom messages waiting for the JS thread, in all and per connection, and
/// their bytes: beyond, the sender gets 1005 (try again). Lifecycle events
/// (connect, disconnect, join, leave) are never dropped: connections and
/// rooms bound them.
const MAX_QUEUED_MESSAGES: usize = 65_536;
const MAX_QUEUED_BYTES: usize = 64 << 20;
const MAX_WAITING_PER_CLIENT: u32 = 64;

enum Event {
    Connect {
        id: String,
        seq: u64,
        info: String,
    },
    Disconnect {
        id: String,
        seq: u64,
        code: u16,
        reason: String,
    },
    Join {
        id: String,
        seq: u64,
        room: String,
    },
    Leave {
        id: String,
        seq: u64,
        room: String,
    },
    Message {
        client: Arc<Client>,
        kind: String,
        data: String,
        message_id: u64,
    },
}

#[derive(Default)]
struct Queue {
    events: Vec<Event>,
    messages: usize,
    message_bytes: usize,
}

struct EventQueue {
    queue: Mutex<Queue>,
    /// Custom messages refused because the queue was full.
    refused: AtomicU64,
    wake: Wake,
}

impl EventQueue {
    fn push(&self, event: Event) {
        self.queue.lock().events.push(event);
        // Refused only while Node exits: the events no longer matter then.
        let _ = self.wake.wake();
    }
}

impl HubEvents for EventQueue {
    fn connected(&self, c: &Client) {
        let i = &c.identity;
        let info = json!({
            "username": i.username,
            "anonymous": i.anonymous,
            "permissions": i.permissions,
            "claims": i.claims,
            "remoteAddr": c.remote.map(|a| a.to_string()),
            "connectedAt": c.connected_at,
        });
        self.push(Event::Connect {
            id: i.id.clone(),
            seq: c.seq,
            info: info.to_string(),
        });
    }

    fn disconnected(&self, c: &Client, code: u16, reason: &str) {
        self.push(Event::Disconnect {
            id: c.id().to_owned(),
            seq: c.seq,
            code,
            reason: reason.to_owned(),
        });
    }

    fn joined(&self, c: &Client, room: &str) {
        self.push(Event::Join {
            id: c.id().to_owned(),
            seq: c.seq,
            room: room.to_owned(),
        });
    }

    fn left(&self, c: &Client, room: &str) {
        self.push(Event::Leave {
            id: c.id().to_owned(),
            seq: c.seq,
            room: room.to_owned(),
        });
    }

    fn message(
        &self,
        c: &Arc<Client>,
        kind: &str,
        data: &str,
        message_id: u64,
    ) -> std::result::Result<(), HubError> {
        {
            let mut q = self.queue.lock();
            let waiting = c.waiting.load(Ordering::Relaxed);
            if waiting >= MAX_WAITING_PER_CLIENT
                || q.messages >= MAX_QUEUED_MESSAGES
                || q.message_bytes + data.len() > MAX_QUEUED_BYTES
            {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(HubError::with_details(
                    ErrorCode::RateLimited,
                    "too many messages waiting for their handler, try again",
                ));
            }
            c.waiting.fetch_add(1, Ordering::Relaxed);
            q.messages += 1;
            q.message_bytes += data.len();
            q.events.push(Event::Message {
                client: c.clone(),
                kind: kind.to_owned(),
                data: data.to_owned(),
                message_id,
            });
        }
        let _ = self.wake.wake();
        Ok(())
    }
}

/// The server SDK over one hub.
#[napi]
pub struct NativeHub {
    hub: Arc<Hub>,
    events: Arc<EventQueue>,
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
        let config = HubConfig::from_json(&options).map_err(invalid)?;
        let hub = Hub::new(config);
        let events = Arc::new(EventQueue {
            queue: Mutex::new(Queue::default()),
            refused: AtomicU64::new(0),
            wake: Wake::new(wake)?,
        });
        hub.set_events(events.clone());
        self.builder()?.mount(Arc::new(HubMount(hub.clone())));
        self.running.hubs.lock().push(hub.clone());
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
        self.events.wake.taking();
        let events = std::mem::take(&mut *self.events.queue.lock()).events;
        for e in &events {
            if let Event::Message { client, .. } = e {
                client.waiting.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let mut out = env.create_array((events.len() * 6) as u32)?;
        for (i, e) in events.into_iter().enumerate() {
            let b = (i * 6) as u32;
            let (kind, id, seq) = match &e {
                Event::Connect { id, seq, .. } => (0, id.clone(), *seq),
                Event::Disconnect { id, seq, .. } => (1, id.clone(), *seq),
                Event::Join { id, seq, .. } => (2, id.clone(), *seq),
                Event::Leave { id, seq, .. } => (3, id.clone(), *seq),
                Event::Message { client, .. } => (4, client.id().to_owned(), client.seq),
            };
            out.set(b, kind)?;
            out.set(b + 1, id)?;
            out.set(b + 2, seq as f64)?;
            match e {
                Event::Connect { info, .. } => out.set(b + 3, info)?,
                Event::Disconnect { code, reason, .. } => {
                    out.set(b + 3, u32::from(code))?;
                    out.set(b + 4, reason)?;
                }
                Event::Join { room, .. } | Event::Leave { room, .. } => out.set(b + 3, room)?,
                Event::Message {
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
            .map_err(invalid)
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
        s["counters"]["refused_for_js"] = json!(self.events.refused.load(Ordering::Relaxed));
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
    HubConfig::from_json(&options).map(drop).map_err(invalid)
}
