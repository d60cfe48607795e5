//! The admin HTTP API, guarded by `Authorization: Bearer <adminToken>`:
//! `GET {api}/stats`, `GET|POST {api}/rooms`, `GET|DELETE {api}/rooms/:id`,
//! `GET {api}/clients`, `DELETE {api}/clients/:id`, `POST {api}/broadcast`.
use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::protocol::{ErrorCode, HubError};
use super::state::Hub;
use crate::auth::admin_token;
use crate::http::MountRequest;
use crate::kernel::Reply;

/// The admin paths under `api` (for the route conflict check).
pub(super) fn paths(api: &str) -> Vec<String> {
    [
        "stats",
        "rooms",
        "rooms/:id",
        "clients",
        "clients/:id",
        "broadcast",
    ]
    .iter()
    .map(|p| format!("{api}/{p}"))
    .collect()
}

/// Whether `path` is one of the admin paths under `api`.
pub(super) fn claims(api: &str, path: &str) -> bool {
    let Some(rest) = path.strip_prefix(api).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    let mut segs = rest.split('/');
    match (segs.next(), segs.next(), segs.next()) {
        (Some("stats" | "clients" | "rooms" | "broadcast"), None, None) => true,
        (Some("rooms" | "clients"), Some(id), None) => !id.is_empty(),
        _ => false,
    }
}

fn json_reply(status: StatusCode, body: Value) -> Reply {
    Reply::json(status, body.to_string())
}

/// A hub error as an HTTP answer: `{error, message, code, details?}`.
fn hub_error(status: StatusCode, err: &HubError) -> Reply {
    let mut body = crate::kernel::error_json(
        status.canonical_reason().unwrap_or("Error"),
        &err.to_string(),
    );
    body["code"] = Value::from(err.code.code());
    if let Some(d) = &err.details {
        body["details"] = Value::from(d.as_str());
    }
    json_reply(status, body)
}

fn status_of(err: &HubError) -> StatusCode {
    match err.code {
        ErrorCode::RoomNotFound | ErrorCode::ClientNotFound => StatusCode::NOT_FOUND,
        ErrorCode::RoomExists => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn body_json(req: &MountRequest) -> Result<Value, Box<Reply>> {
    serde_json::from_slice(&req.body).map_err(|e| {
        Box::new(Reply::error(
            StatusCode::BAD_REQUEST,
            &format!("the body must be JSON: {e}"),
        ))
    })
}

fn decode(seg: &str) -> String {
    percent_encoding::percent_decode_str(seg)
        .decode_utf8_lossy()
        .into_owned()
}

pub(super) fn handle(hub: &Arc<Hub>, token: &str, req: MountRequest) -> Reply {
    if !admin_token::authorized(&req.parts.headers, token) {
        return admin_token::unauthorized();
    }
    let api = &hub.config().api_prefix;
    let rest = req.parts.uri.path()[api.len() + 1..].to_owned();
    let (section, id) = match rest.split_once('/') {
        Some((s, id)) => (s.to_owned(), Some(decode(id))),
        None => (rest, None),
    };
    let method = req.parts.method.clone();
    let reply = match (section.as_str(), id, &method) {
        ("stats", None, &Method::GET) => Ok(json_reply(StatusCode::OK, hub.stats())),
        ("clients", None, &Method::GET) => {
            let clients = hub.clients_info();
            let mut body = json!({ "count": clients.len(), "clients": clients });
            if let Some(c) = hub.cluster() {
                // Every node's clients, each with the node that holds it.
                let mut all: Vec<Value> = clients
                    .into_iter()
                    .map(|mut v| {
                        v["node"] = Value::from(c.node());
                        v
                    })
                    .collect();
                all.extend(c.directory.read().clients_info());
                all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                body["node"] = Value::from(c.node());
                body["cluster"] = json!({ "count": all.len(), "clients": all });
            }
            Ok(json_reply(StatusCode::OK, body))
        }
        ("clients", Some(id), &Method::DELETE) => Ok(
            if hub.kick(&id, None, None, "disconnected by the admin API") {
                Reply::empty(StatusCode::NO_CONTENT)
            } else {
                hub_error(
                    StatusCode::NOT_FOUND,
                    &HubError::with_details(ErrorCode::ClientNotFound, id),
                )
            },
        ),
        ("rooms", None, &Method::GET) => {
            let rooms = hub.rooms_info();
            Ok(json_reply(
                StatusCode::OK,
                json!({ "count": rooms.len(), "rooms": rooms }),
            ))
        }
        ("rooms", None, &Method::POST) => create_room(hub, &req),
        ("rooms", Some(id), &Method::GET) => Ok(match hub.room_info(&id) {
            Some(info) => json_reply(StatusCode::OK, info),
            None => hub_error(
                StatusCode::NOT_FOUND,
                &HubError::with_details(ErrorCode::RoomNotFound, id),
            ),
        }),
        ("rooms", Some(id), &Method::DELETE) => Ok(match hub.delete_room(&id) {
            Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
            Err(e) => hub_error(status_of(&e), &e),
        }),
        ("broadcast", None, &Method::POST) => broadcast(hub, &req),
        _ => Ok(Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{method} is not allowed on {}", req.parts.uri.path()),
        )),
    };
    reply.unwrap_or_else(|r| *r)
}

/// `POST {api}/rooms` `{id, name?, max_clients? = 0}` → 201 with the room.
fn create_room(hub: &Hub, req: &MountRequest) -> Result<Reply, Box<Reply>> {
    let body = body_json(req)?;
    let bad = |m: &str| Box::new(Reply::error(StatusCode::BAD_REQUEST, m));
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("id (a string) is required"))?;
    let name = match body.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n.as_str()),
        Some(_) => return Err(bad("name must be a string")),
    };
    let max =
        match body.get("max_clients").or_else(|| body.get("maxClients")) {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_u64().filter(|n| *n <= 10_000_000).ok_or_else(|| {
                bad("max_clients must be an integer from 0 (unlimited) to 10000000")
            })? as usize,
        };
    match hub.create_room(id, name, max) {
        Ok(info) => Ok(json_reply(StatusCode::CREATED, info)),
        Err(e) => Err(Box::new(hub_error(status_of(&e), &e))),
    }
}

/// `POST {api}/broadcast` `{message, message_type? = "broadcast"}`: `message`
/// (any JSON) becomes the `data` of a message to every client.
fn broadcast(hub: &Hub, req: &MountRequest) -> Result<Reply, Box<Reply>> {
    let body = body_json(req)?;
    let message = body
        .get("message")
        .ok_or_else(|| Box::new(Reply::error(StatusCode::BAD_REQUEST, "message is required")))?;
    let message_type = match body.get("message_type") {
        None | Some(Value::Null) => "broadcast",
        Some(Value::String(t)) if !t.is_empty() && t.len() <= super::protocol::MAX_TYPE_LEN => {
            t.as_str()
        }
        Some(_) => {
            return Err(Box::new(Reply::error(
                StatusCode::BAD_REQUEST,
                "message_type must be a non-empty string",
            )))
        }
    };
    let sent = hub.broadcast(message_type, &message.to_string());
    Ok(json_reply(StatusCode::OK, json!({ "sent": sent })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_only_the_admin_paths() {
        assert!(claims("/api", "/api/stats"));
        assert!(claims("/api", "/api/rooms"));
        assert!(claims("/api", "/api/rooms/lobby"));
        assert!(claims("/api", "/api/clients/u1"));
        assert!(!claims("/api", "/api/rooms/a/b"));
        assert!(!claims("/api", "/api/users"));
        assert!(!claims("/api", "/apis/stats"));
        assert!(!claims("/api", "/api/rooms/"));
    }
}
