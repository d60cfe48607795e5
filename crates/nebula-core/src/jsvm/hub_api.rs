//! `N.hub` (taken by the prelude, which builds the script's `hub` global and
//! `e.reply`/`e.error` on it): the engine's hub, called from a runtime's
//! thread. Delivery only queues into outboxes, so nothing here blocks.
use std::sync::Arc;

use rquickjs::{Ctx, Exception, Object, Result};

use super::globals::define;

use crate::hub::{ErrorCode, Hub, HubError};

pub fn install<'js>(ctx: &Ctx<'js>, n: &Object<'js>, hub: &Arc<Hub>) -> Result<()> {
    let o = Object::new(ctx.clone())?;
    define(&o, "checkType", |t: String| {
        crate::hub::check_custom_type(&t).map_or_else(|e| e.to_string(), |()| String::new())
    })?;
    let h = hub.clone();
    define(&o, "broadcast", move |t: String, data: String| {
        h.broadcast(&t, &data) as f64
    })?;
    let h = hub.clone();
    define(
        &o,
        "toRoom",
        move |ctx: Ctx<'js>, room: String, t: String, data: String| -> Result<f64> {
            h.to_room(&room, &t, &data, None)
                .map(|n| n as f64)
                .map_err(|e| Exception::throw_message(&ctx, &format!("hub.toRoom: {e}")))
        },
    )?;
    let h = hub.clone();
    define(
        &o,
        "toClient",
        move |id: String, t: String, data: String| h.to_client(&id, &t, &data, None).is_ok(),
    )?;
    let h = hub.clone();
    define(&o, "disconnect", move |id: String, reason: String| {
        h.kick(&id, None, None, &reason)
    })?;
    let h = hub.clone();
    define(&o, "clientCount", move || h.client_count() as f64)?;
    let h = hub.clone();
    define(
        &o,
        "reply",
        move |id: String, seq: f64, t: String, data: String, request: f64| {
            h.reply(&id, seq as u64, &t, &data, request as u64)
        },
    )?;
    let h = hub.clone();
    define(
        &o,
        "error",
        move |id: String, seq: f64, code: f64, message: String, request: f64| {
            let code = ErrorCode::from_code(code as u16).unwrap_or(ErrorCode::ServerError);
            let mut err = HubError::new(code);
            err.details = (!message.is_empty()).then_some(message);
            h.reply_error(&id, seq as u64, &err, request as u64)
        },
    )?;
    n.set("hub", o)
}
