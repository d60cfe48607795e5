//! The upgrade path: origin, handshake, connection cap and token checked
//! before the 101; then the connection runs in its own task until it ends.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{
    HeaderValue, AUTHORIZATION, CONNECTION, ORIGIN, SEC_WEBSOCKET_ACCEPT, UPGRADE,
};
use hyper::upgrade::OnUpgrade;
use hyper::StatusCode;
use hyper_util::rt::TokioIo;

use super::client::Client;
use super::identity::{self, Identity};
use super::metrics::HubMetrics;
use super::protocol;
use super::state::Hub;
use super::ws::{self, frame, handshake, ConnConfig, Limits, MessageHandler};
use crate::auth::jwt::{bearer_token, JwtError};
use crate::http::MountRequest;
use crate::kernel::Reply;

/// Counts a connection from its 101 until its task ends (also if the task is dropped).
struct OpenSlot(Arc<Hub>);

impl Drop for OpenSlot {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

fn refuse(hub: &Hub, status: StatusCode, message: &str) -> Reply {
    HubMetrics::inc(&hub.metrics.rejected);
    Reply::error(status, message)
}

/// `?name=value` of a query string, percent-decoded.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// Who is connecting, or the refusal (401).
fn identify(hub: &Hub, req: &MountRequest) -> Result<Identity, Box<Reply>> {
    let query = req.parts.uri.query();
    let token = match query_param(query, "token") {
        Some(t) if !t.is_empty() => Some(Ok(t)),
        _ => req.parts.headers.get(AUTHORIZATION).map(|v| {
            v.to_str()
                .map_err(|_| JwtError::Malformed)
                .and_then(bearer_token)
                .map(str::to_owned)
        }),
    };
    let config = hub.config();
    let unauthorized = |err: &JwtError| {
        HubMetrics::inc(&hub.metrics.auth_failure);
        let mut reply = Reply::error(StatusCode::UNAUTHORIZED, &err.to_string());
        reply
            .headers
            .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        Box::new(reply)
    };
    match (&config.verifier, token) {
        (Some(verifier), Some(token)) => {
            let claims = token
                .and_then(|t| verifier.verify(&t))
                .map_err(|e| unauthorized(&e))?;
            HubMetrics::inc(&hub.metrics.auth_success);
            Ok(Identity::from_claims(
                claims,
                &config.permissions_claim,
                identity::random_id(),
            ))
        }
        (Some(_), None) if !config.allow_anonymous => Err(unauthorized(&JwtError::Missing)),
        _ => {
            let id = query_param(query, "client_id")
                .filter(|id| identity::valid_client_id(id))
                .unwrap_or_else(identity::random_id);
            Ok(Identity::anonymous(&id, &config.anonymous_permissions))
        }
    }
}

/// Answers a request for the hub's path: the 101, or why not.
pub(super) fn upgrade(hub: &Arc<Hub>, mut req: MountRequest) -> Reply {
    let config = hub.config();
    // An Origin that is not ASCII matches no allowed origin (it is not "absent").
    let origin = req
        .parts
        .headers
        .get(ORIGIN)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    if !config.origin_allowed(origin) {
        return refuse(hub, StatusCode::FORBIDDEN, "origin not allowed");
    }
    if !handshake::is_upgrade(&req.parts.headers) {
        let mut reply = refuse(
            hub,
            StatusCode::UPGRADE_REQUIRED,
            "this path expects a WebSocket upgrade",
        );
        reply
            .headers
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
        return reply;
    }
    let accept = match handshake::check(&req.parts.method, &req.parts.headers) {
        Ok(a) => a,
        Err(e) => {
            let mut reply = refuse(hub, e.status(), &e.message());
            if e.status() == StatusCode::UPGRADE_REQUIRED {
                reply
                    .headers
                    .insert("sec-websocket-version", HeaderValue::from_static("13"));
            }
            return reply;
        }
    };
    if hub.is_shutting_down() {
        return refuse(
            hub,
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        );
    }
    let Some(on_upgrade) = req.parts.extensions.remove::<OnUpgrade>() else {
        return refuse(
            hub,
            StatusCode::BAD_REQUEST,
            "WebSocket upgrades need a real connection",
        );
    };
    if hub.open.fetch_add(1, Ordering::SeqCst) >= config.max_connections as u64 {
        hub.open.fetch_sub(1, Ordering::SeqCst);
        return refuse(
            hub,
            StatusCode::SERVICE_UNAVAILABLE,
            "too many WebSocket connections",
        );
    }
    let slot = OpenSlot(hub.clone());
    let identity = match identify(hub, &req) {
        Ok(i) => i,
        Err(reply) => return *reply,
    };
    let Ok(accept) = HeaderValue::from_str(&accept) else {
        return refuse(hub, StatusCode::BAD_REQUEST, "invalid Sec-WebSocket-Key");
    };
    let client = match hub.connect(identity, req.peer) {
        Ok(c) => c,
        Err(e) => return refuse(hub, StatusCode::CONFLICT, &e.to_string()),
    };
    tokio::spawn(serve(hub.clone(), client, on_upgrade, slot));
    let mut reply = Reply::empty(StatusCode::SWITCHING_PROTOCOLS);
    reply
        .headers
        .insert(UPGRADE, HeaderValue::from_static("websocket"));
    reply
        .headers
        .insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    reply.headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    reply
}

/// Hands a client's messages to the hub (or echoes them, in the test-only echo mode).
struct Handler {
    hub: Arc<Hub>,
    client: Arc<Client>,
}

impl MessageHandler for Handler {
    fn on_text(&self, text: Bytes) {
        if self.hub.config().echo {
            let _ = self.client.outbox.push(frame::text(&text));
            return;
        }
        match std::str::from_utf8(&text) {
            Ok(t) => self.hub.on_text(&self.client, t),
            Err(_) => self.hub.on_binary(&self.client, text.len()),
        }
    }

    fn on_binary(&self, data: Bytes) {
        if self.hub.config().echo {
            let _ = self
                .client
                .outbox
                .push(frame::encode(ws::Opcode::Binary, &data));
            return;
        }
        self.hub.on_binary(&self.client, data.len());
    }
}

/// How long until the token's `exp` passes.
fn until_expiry(client: &Client) -> Option<Duration> {
    let exp_ms = client.identity.expires_at?.saturating_mul(1000);
    Some(Duration::from_millis(
        exp_ms.saturating_sub(protocol::now_ms()),
    ))
}

async fn serve(hub: Arc<Hub>, client: Arc<Client>, on_upgrade: OnUpgrade, _slot: OpenSlot) {
    let upgraded = match on_upgrade.await {
        Ok(u) => u,
        Err(e) => {
            tracing::debug!(error = %e, "hub: the upgrade did not complete");
            hub.disconnect(&client, 1006, "upgrade failed");
            return;
        }
    };
    let config = hub.config();
    let cfg = ConnConfig {
        limits: Limits {
            max_message: config.max_message_size,
            max_fragments: config.max_fragments,
        },
        ping_interval: config.ping_interval,
        idle_timeout: config.idle_timeout,
        close_grace: Duration::from_secs(1),
    };
    let handler = Handler {
        hub: hub.clone(),
        client: client.clone(),
    };
    let run = ws::run(TokioIo::new(upgraded), client.outbox.clone(), cfg, &handler);
    tokio::pin!(run);
    let ended = match until_expiry(&client) {
        Some(left) => tokio::select! {
            ended = &mut run => ended,
            _ = tokio::time::sleep(left) => {
                client.outbox.close(1008, "token expired");
                run.await
            }
        },
        None => run.await,
    };
    tracing::debug!(client = %client.id(), code = ended.code, reason = %ended.reason, "hub: connection ended");
    hub.disconnect(&client, ended.code, &ended.reason);
}
