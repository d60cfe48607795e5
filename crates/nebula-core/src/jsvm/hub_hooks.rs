//! The script VM as the hub's [`HubScripts`]: connections and messages of the
//! types scripts handle run the current generation's `onWs*` hooks in the pool.
//!
//! - `onWsConnect` / `onWsDisconnect` run once per event, nobody waits.
//! - `onWsMessage(type)` hooks run by priority; `e.reply(data)` answers the
//!   sender, a throw or a failed run sends error 1003 (1004 when it ran past
//!   its deadline). When every hook calls `e.next()`, the message goes on to
//!   the TypeScript handler of its type, if there is one.
use std::sync::{Arc, Weak};

use serde_json::Value;

use super::pool::Submit;
use super::service::Jsvm;
use super::task::{ReplyTo, TaskKind};
use crate::hub::{Client, ErrorCode, Hub, HubError, HubEvents, HubScripts};
use crate::kernel::Reply;

/// Weak: the hub must not keep a stopped VM alive.
pub struct HubHooks(pub Weak<Jsvm>);

/// The client as hooks see it (`e.client`): the hub's listing plus its connection seq.
fn client_json(client: &Client) -> Value {
    let mut v = client.info();
    v["seq"] = client.seq.into();
    v
}

impl HubHooks {
    /// Runs the `onWsConnect` or `onWsDisconnect` chain with the event
    /// `data()` builds, only when the current generation has such hooks.
    fn fire(&self, kind: &'static str, data: impl FnOnce() -> Value) {
        let Some(jsvm) = self.0.upgrade() else { return };
        let g = jsvm.current_generation();
        let (wanted, label) = match kind {
            "wsConnect" => (g.table.has_ws_connect, "onWsConnect"),
            _ => (g.table.has_ws_disconnect, "onWsDisconnect"),
        };
        if !wanted {
            return;
        }
        let task = TaskKind::Hub {
            kind,
            arg: String::new(),
            data: data().to_string(),
        };
        if let Submit::Busy | Submit::Stopped = g.submit(task, Arc::from(label), ReplyTo::Nobody) {
            tracing::warn!(
                hook = label,
                "jsvm: hub event dropped, the pool is full or stopped"
            );
        }
    }
}

impl HubScripts for HubHooks {
    fn handles(&self, message_type: &str) -> bool {
        self.0
            .upgrade()
            .is_some_and(|j| j.current_generation().table.ws_types.contains(message_type))
    }
}

impl HubEvents for HubHooks {
    fn joined(&self, _: &Client, _: &str) {}
    fn left(&self, _: &Client, _: &str) {}

    fn connected(&self, client: &Client) {
        self.fire(
            "wsConnect",
            || serde_json::json!({ "client": client_json(client) }),
        );
    }

    fn disconnected(&self, client: &Client, code: u16, reason: &str) {
        self.fire(
            "wsDisconnect",
            || serde_json::json!({ "client": client_json(client), "code": code, "reason": reason }),
        );
    }

    fn message(
        &self,
        client: &Arc<Client>,
        message_type: &str,
        data: &str,
        message_id: u64,
    ) -> Result<(), HubError> {
        let stopped = || HubError::with_details(ErrorCode::ServerError, "the script VM is stopped");
        let jsvm = self.0.upgrade().ok_or_else(stopped)?;
        let hub = jsvm.hub().cloned().ok_or_else(stopped)?;
        let g = jsvm.current_generation();
        if !g.table.ws_types.contains(message_type) {
            // A reload dropped the type since the hub asked: as if scripts never had it.
            return hub.to_owner(client, message_type, data, message_id, true);
        }
        let event = format!(
            r#"{{"client":{},"data":{},"messageId":{}}}"#,
            client_json(client),
            data,
            message_id
        );
        let task = TaskKind::Hub {
            kind: "wsMessage",
            arg: message_type.to_owned(),
            data: event,
        };
        let then = Outcome {
            hub,
            client: client.clone(),
            message_type: message_type.to_owned(),
            data: data.to_owned(),
            message_id,
        };
        let label = Arc::from(format!("ws:{message_type}"));
        match g.submit(task, label, ReplyTo::Call(Box::new(move |r| then.apply(r)))) {
            Submit::Queued => Ok(()),
            Submit::Busy => Err(HubError::with_details(
                ErrorCode::ServerError,
                "all script runtimes are busy",
            )),
            Submit::Stopped => Err(stopped()),
        }
    }
}

/// What happens once a message's hooks ran.
struct Outcome {
    hub: Arc<Hub>,
    client: Arc<Client>,
    message_type: String,
    data: String,
    message_id: u64,
}

impl Outcome {
    fn apply(self, reply: Reply) {
        let status = reply.status.as_u16();
        if status < 400 {
            if &reply.body[..] == b"next" {
                self.hub.pass_on(
                    &self.client,
                    &self.message_type,
                    &self.data,
                    self.message_id,
                );
            }
            return;
        }
        // Like a TypeScript handler's failure: no details to the client (the
        // log has them), 1004 when the run went past its deadline (a 503
        // without Retry-After; a busy pool's 503 carries one).
        let timed_out = status == 503 && !reply.headers.contains_key(hyper::header::RETRY_AFTER);
        let err = HubError::new(if timed_out {
            ErrorCode::Timeout
        } else {
            ErrorCode::ServerError
        });
        self.hub
            .reply_error(self.client.id(), self.client.seq, &err, self.message_id);
    }
}
