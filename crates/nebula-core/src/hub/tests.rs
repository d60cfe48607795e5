//! The hub's behaviour without sockets: clients are registered directly and
//! what they were sent is read back from their send queues.
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Value};

use super::client::Client;
use super::config::HubConfig;
use super::events::HubEvents;
use super::identity::{Identity, ANONYMOUS_DEFAULT};
use super::protocol::HubError;
use super::state::Hub;

fn hub_with(config: HubConfig) -> Arc<Hub> {
    Hub::new(config)
}

pub(super) fn hub() -> Arc<Hub> {
    hub_with(HubConfig::default())
}

fn perms(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(super) fn connect(hub: &Hub, id: &str) -> Arc<Client> {
    hub.connect(
        Identity::from_claims(
            json!({"user_id": id, "permissions": ANONYMOUS_DEFAULT}),
            "permissions",
            String::new(),
        ),
        None,
    )
    .unwrap()
}

/// The payload of each server frame in `bytes` (unmasked, FIN set).
fn payloads(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let opcode = bytes[0] & 0x0f;
        let (len, start) = match bytes[1] & 0x7f {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        out.push((opcode, bytes[start..start + len].to_vec()));
        bytes = &bytes[start + len..];
    }
    out
}

/// The JSON messages queued for `client` since the last call.
pub(super) async fn received(client: &Client) -> Vec<Value> {
    let mut frames = Vec::new();
    client.outbox.try_next_batch(&mut frames);
    frames
        .iter()
        .flat_map(|f| payloads(f))
        .filter(|(op, _)| *op == 1)
        .map(|(_, p)| serde_json::from_slice(&p).unwrap())
        .collect()
}

fn types(msgs: &[Value]) -> Vec<&str> {
    msgs.iter()
        .map(|m| m["message_type"].as_str().unwrap())
        .collect()
}

pub(super) fn send(hub: &Hub, client: &Arc<Client>, msg: Value) {
    hub.on_text(client, &msg.to_string());
}

#[tokio::test]
async fn ping_answers_pong_with_the_request_id() {
    let hub = hub();
    let a = connect(&hub, "a");
    send(
        &hub,
        &a,
        json!({"message_id": 5, "message_type": "ping", "data": {"ts": 1000}}),
    );
    let got = received(&a).await;
    assert_eq!(types(&got), ["pong"]);
    assert_eq!(got[0]["request_id"], 5);
    assert_eq!(got[0]["data"]["ts"], 1000);
    assert!(got[0]["data"]["server_ts"].as_u64().unwrap() > 1000);
    assert!(got[0]["data"]["rtt"].as_u64().is_some());
}

#[tokio::test]
async fn room_messages_reach_every_member_but_the_sender() {
    let hub = hub();
    hub.create_room("lobby", Some("Lobby"), 0).unwrap();
    let (a, b, c, outsider) = (
        connect(&hub, "a"),
        connect(&hub, "b"),
        connect(&hub, "c"),
        connect(&hub, "d"),
    );
    for (i, cl) in [&a, &b, &c].into_iter().enumerate() {
        send(
            &hub,
            cl,
            json!({"message_id": i, "message_type": "join_room", "data": {"room_id": "lobby"}}),
        );
        let got = received(cl).await;
        assert_eq!(got[0]["message_type"], "room_joined");
        assert_eq!(
            got[0]["data"],
            json!({"room_id": "lobby", "status": "joined"})
        );
    }
    send(
        &hub,
        &a,
        json!({"message_id": 9, "message_type": "room_message", "data": {"room_id": "lobby", "content": {"text": "hi"}}}),
    );
    assert!(
        received(&a).await.is_empty(),
        "the sender gets nothing back"
    );
    assert!(received(&outsider).await.is_empty());
    for cl in [&b, &c] {
        let got = received(cl).await;
        assert_eq!(types(&got), ["room_message"]);
        assert_eq!(got[0]["data"]["content"], json!({"text": "hi"}));
        assert_eq!(got[0]["data"]["sender_id"], "a");
        assert_eq!(got[0]["data"]["room_id"], "lobby");
    }
}

#[tokio::test]
async fn errors_name_the_request() {
    let hub = hub();
    hub.create_room("small", None, 1).unwrap();
    let a = connect(&hub, "a");
    let b = connect(&hub, "b");
    let code_of = |m: &Value| {
        (
            m["data"]["code"].as_u64().unwrap(),
            m["request_id"].as_u64().unwrap_or(0),
        )
    };
    send(&hub, &a, json!({"message_id": 1, "message_type": "nope"}));
    assert_eq!(code_of(&received(&a).await[0]), (1000, 1));
    hub.on_text(&a, "{not json");
    assert_eq!(code_of(&received(&a).await[0]), (1001, 0));
    send(
        &hub,
        &a,
        json!({"message_id": 2, "message_type": "join_room", "data": {}}),
    );
    assert_eq!(code_of(&received(&a).await[0]), (1001, 2));
    send(
        &hub,
        &a,
        json!({"message_id": 3, "message_type": "join_room", "data": {"room_id": "missing"}}),
    );
    assert_eq!(code_of(&received(&a).await[0]), (3000, 3));
    send(
        &hub,
        &a,
        json!({"message_id": 4, "message_type": "join_room", "data": {"room_id": "small"}}),
    );
    assert_eq!(types(&received(&a).await), ["room_joined"]);
    send(
        &hub,
        &a,
        json!({"message_id": 5, "message_type": "join_room", "data": {"room_id": "small"}}),
    );
    assert_eq!(code_of(&received(&a).await[0]), (3004, 5));
    send(
        &hub,
        &b,
        json!({"message_id": 6, "message_type": "join_room", "data": {"room_id": "small"}}),
    );
    assert_eq!(code_of(&received(&b).await[0]), (3002, 6));
    send(
        &hub,
        &b,
        json!({"message_id": 7, "message_type": "room_message", "data": {"room_id": "small", "content": "x"}}),
    );
    assert_eq!(code_of(&received(&b).await[0]), (3003, 7));
    send(
        &hub,
        &b,
        json!({"message_id": 8, "message_type": "leave_room", "data": {"room_id": "small"}}),
    );
    assert_eq!(code_of(&received(&b).await[0]), (3003, 8));
    send(
        &hub,
        &b,
        json!({"message_id": 9, "message_type": "direct_message", "data": {"target_id": "zz", "content": "x"}}),
    );
    assert_eq!(code_of(&received(&b).await[0]), (4000, 9));
    hub.on_binary(&b, 3);
    assert_eq!(code_of(&received(&b).await[0]), (1001, 0));
}

#[tokio::test]
async fn permissions_are_enforced() {
    let hub = hub();
    hub.create_room("r", None, 0).unwrap();
    let reader = hub
        .connect(
            Identity::anonymous("reader", &perms(&["read:message"])),
            None,
        )
        .unwrap();
    send(
        &hub,
        &reader,
        json!({"message_id": 1, "message_type": "join_room", "data": {"room_id": "r"}}),
    );
    let got = received(&reader).await;
    assert_eq!(got[0]["data"]["code"], 2001);
    assert!(got[0]["data"]["details"]
        .as_str()
        .unwrap()
        .contains("join:room"));
    let admin = hub
        .connect(
            Identity::anonymous("admin", &perms(&["admin:system"])),
            None,
        )
        .unwrap();
    send(
        &hub,
        &admin,
        json!({"message_id": 2, "message_type": "join_room", "data": {"room_id": "r"}}),
    );
    assert_eq!(types(&received(&admin).await), ["room_joined"]);
}

#[tokio::test]
async fn direct_messages_reach_the_target() {
    let hub = hub();
    let a = connect(&hub, "a");
    let b = connect(&hub, "b");
    send(
        &hub,
        &a,
        json!({"message_id": 1, "message_type": "direct_message", "data": {"target_id": "b", "content": "psst"}}),
    );
    let got = received(&b).await;
    assert_eq!(types(&got), ["direct_message"]);
    assert_eq!(got[0]["data"]["content"], "psst");
    assert_eq!(got[0]["data"]["sender_id"], "a");
    assert!(received(&a).await.is_empty());
}

#[tokio::test]
async fn disconnect_cleans_up_rooms_and_a_second_connection_replaces_the_first() {
    let hub = hub();
    hub.create_room("r", None, 0).unwrap();
    let first = connect(&hub, "same");
    hub.join(&first, "r").unwrap();
    let second = connect(&hub, "same");
    assert!(first.outbox.is_closing(), "the older socket is closed");
    assert_eq!(
        hub.room_info("r").unwrap()["clients"],
        0,
        "and leaves its rooms"
    );
    hub.join(&second, "r").unwrap();
    // The old connection ending later must not remove the new one.
    hub.disconnect(&first, 1000, "");
    assert_eq!(hub.client_count(), 1);
    assert_eq!(hub.room_info("r").unwrap()["members"], json!(["same"]));
    hub.disconnect(&second, 1000, "");
    assert_eq!(hub.client_count(), 0);
    assert_eq!(hub.room_info("r").unwrap()["clients"], 0);
}

#[tokio::test]
async fn a_full_send_queue_disconnects_or_drops_per_option() {
    let hub = hub_with(HubConfig {
        send_queue_messages: 2,
        ..HubConfig::default()
    });
    let slow = connect(&hub, "slow");
    let fast = connect(&hub, "fast");
    for _ in 0..3 {
        hub.broadcast("tick", "1");
        received(&fast).await;
    }
    assert!(slow.outbox.is_closing(), "the slow client is disconnected");
    assert!(!fast.outbox.is_closing(), "the others keep going");
    assert_eq!(hub.stats()["counters"]["slow_clients"], 1);

    let hub = hub_with(HubConfig {
        send_queue_messages: 2,
        on_full: super::OnFull::Drop,
        ..HubConfig::default()
    });
    let slow = connect(&hub, "slow");
    for _ in 0..3 {
        hub.broadcast("tick", "1");
    }
    assert!(!slow.outbox.is_closing());
    assert_eq!(received(&slow).await.len(), 2);
    assert_eq!(hub.stats()["counters"]["dropped_messages"], 1);
}

#[tokio::test]
async fn rooms_are_managed_by_the_server() {
    let hub = hub();
    assert_eq!(
        hub.create_room("a", Some("A"), 5).unwrap()["max_clients"],
        5
    );
    assert_eq!(hub.create_room("a", None, 0).unwrap_err().code.code(), 3001);
    assert_eq!(hub.create_room("", None, 0).unwrap_err().code.code(), 1001);
    let c = connect(&hub, "c");
    hub.join(&c, "a").unwrap();
    assert_eq!(hub.rooms_info()[0]["clients"], 1);
    hub.delete_room("a").unwrap();
    assert!(c.rooms.lock().is_empty());
    assert_eq!(hub.delete_room("a").unwrap_err().code.code(), 3000);
}

#[derive(Default)]
pub(super) struct Recorder(pub(super) Mutex<Vec<String>>);

impl HubEvents for Recorder {
    fn connected(&self, c: &Client) {
        self.0.lock().push(format!("connect {}", c.id()));
    }
    fn disconnected(&self, c: &Client, code: u16, _: &str) {
        self.0.lock().push(format!("disconnect {} {code}", c.id()));
    }
    fn joined(&self, c: &Client, room: &str) {
        self.0.lock().push(format!("join {} {room}", c.id()));
    }
    fn left(&self, c: &Client, room: &str) {
        self.0.lock().push(format!("leave {} {room}", c.id()));
    }
    fn message(&self, c: &Arc<Client>, t: &str, data: &str, id: u64) -> Result<(), HubError> {
        self.0
            .lock()
            .push(format!("message {} {t} {data} {id}", c.id()));
        Ok(())
    }
}

#[tokio::test]
async fn events_and_custom_types_reach_the_owner() {
    let hub = hub();
    let rec = Arc::new(Recorder::default());
    hub.set_events(rec.clone());
    hub.register_handler("typing", None).unwrap();
    hub.register_handler("secret", Some("admin:room".into()))
        .unwrap();
    assert!(hub.register_handler("ping", None).is_err());
    hub.create_room("r", None, 0).unwrap();
    let a = connect(&hub, "a");
    hub.join(&a, "r").unwrap();
    send(
        &hub,
        &a,
        json!({"message_id": 3, "message_type": "typing", "data": {"room_id": "r"}}),
    );
    send(&hub, &a, json!({"message_id": 4, "message_type": "secret"}));
    assert_eq!(received(&a).await[0]["data"]["code"], 2001);
    hub.disconnect(&a, 1000, "bye");
    assert_eq!(
        *rec.0.lock(),
        [
            "connect a",
            "join a r",
            r#"message a typing {"room_id":"r"} 3"#,
            "leave a r",
            "disconnect a 1000"
        ]
    );
}

#[tokio::test]
async fn replies_go_only_to_the_connection_that_asked() {
    let hub = hub();
    let first = connect(&hub, "u");
    assert!(hub.reply("u", first.seq, "typing", "{}", 3));
    assert_eq!(received(&first).await[0]["request_id"], 3);
    let second = connect(&hub, "u");
    assert!(
        !hub.reply("u", first.seq, "typing", "{}", 4),
        "not to its replacement"
    );
    assert!(received(&second).await.is_empty());
}

#[tokio::test]
async fn an_anonymous_client_cannot_replace_a_connection() {
    let hub = hub();
    let first = hub.connect(Identity::anonymous("x", &[]), None).unwrap();
    let err = hub
        .connect(Identity::anonymous("x", &[]), None)
        .err()
        .unwrap();
    assert_eq!(err.code.code(), 2000);
    assert!(!first.outbox.is_closing());
    assert_eq!(first.id(), "anon:x");
}

#[tokio::test]
async fn a_stale_member_left_by_a_replaced_connection_is_replaced_on_join() {
    let hub = hub();
    hub.create_room("r", None, 1).unwrap();
    let old = connect(&hub, "u");
    hub.join(&old, "r").unwrap();
    // Simulate the race: the old connection's membership survives its replacement.
    let new = hub
        .connect(
            Identity::from_claims(json!({"user_id": "u"}), "permissions", String::new()),
            None,
        )
        .unwrap();
    hub.rooms
        .write()
        .get_mut("r")
        .unwrap()
        .members
        .insert(Arc::from("u"), old.clone());
    assert_eq!(
        hub.join(&old, "r").unwrap_err().code.code(),
        4001,
        "the old connection is offline"
    );
    hub.join(&new, "r").unwrap(); // not 3004, not 3002 (the room holds 1)
    assert_eq!(hub.room_info("r").unwrap()["clients"], 1);
    hub.leave(&new, "r").unwrap();
}

#[tokio::test]
async fn a_client_that_sends_too_fast_gets_1005() {
    let hub = hub_with(HubConfig {
        max_messages_per_second: 3,
        ..HubConfig::default()
    });
    let a = connect(&hub, "a");
    for i in 1..=4 {
        send(&hub, &a, json!({"message_id": i, "message_type": "ping"}));
    }
    let got = received(&a).await;
    assert_eq!(types(&got), ["pong", "pong", "pong", "error"]);
    assert_eq!(got[3]["data"]["code"], 1005);
    assert_eq!(got[3]["request_id"], 4);
}

#[tokio::test]
async fn a_message_larger_than_the_queue_limit_still_reaches_a_client_that_keeps_up() {
    let hub = hub_with(HubConfig {
        send_queue_bytes: 1024,
        ..HubConfig::default()
    });
    let a = connect(&hub, "a");
    let big = serde_json::Value::from("x".repeat(4000)).to_string();
    assert_eq!(hub.broadcast("big", &big), 1);
    assert!(!a.outbox.is_closing());
    assert_eq!(received(&a).await[0]["data"].as_str().unwrap().len(), 4000);
}

#[tokio::test]
async fn connecting_during_shutdown_is_closed_at_once() {
    let hub = hub();
    hub.shutdown();
    let late = connect(&hub, "late");
    assert!(late.outbox.is_closing());
}
