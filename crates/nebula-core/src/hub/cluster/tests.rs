//! Several hubs in one process over the in-process bus: what crosses nodes
//! (room messages, broadcasts, direct messages, kicks), cluster-wide state
//! (one connection per id, room counts and max_clients, presence and its
//! TTL, snapshots for a late node) and duplicate suppression.
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::config::{BusConfig, BusKind};
use crate::hub::tests::{connect, received, send};
use crate::hub::{Hub, HubConfig, CLOSE_REPLACED};

pub(super) fn node(group: &str, id: &str) -> Arc<Hub> {
    let config = HubConfig {
        bus: Some(BusConfig {
            kind: BusKind::Local {
                group: group.into(),
            },
            prefix: "nebula".into(),
            node_id: id.into(),
            heartbeat: Duration::from_millis(40),
            presence_ttl: Duration::from_millis(300),
            queue: 4096,
        }),
        max_messages_per_second: 0,
        ..HubConfig::default()
    };
    let hub = Hub::new(config);
    hub.spawn_cluster();
    hub
}

pub(super) fn group() -> String {
    format!("t{:x}", crate::support::ids::random_u64())
}

/// Waits (at most 5 s) until `cond` holds.
pub(super) async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn cluster_clients(h: &Hub) -> u64 {
    h.stats()["cluster"]["clients"].as_u64().unwrap()
}

pub(super) fn synced(hubs: &[&Arc<Hub>], clients: u64) -> bool {
    hubs.iter().all(|h| {
        let s = h.stats();
        s["cluster"]["nodes"] == json!(hubs.len())
            && s["cluster"]["clients"] == json!(clients)
            && s["cluster"]["peers"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["synced"] == json!(true))
    })
}

/// Reads `c`'s messages until `n` of type `t` arrived (at most 5 s): all it read.
pub(super) async fn read_until(c: &crate::hub::Client, t: &str, n: usize) -> Vec<Value> {
    let start = Instant::now();
    let mut got = Vec::new();
    while of_type(&got, t).len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {n} {t}; got {}",
            of_type(&got, t).len()
        );
        got.extend(received(c).await);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    got
}

pub(super) fn of_type<'a>(msgs: &'a [Value], t: &str) -> Vec<&'a Value> {
    msgs.iter().filter(|m| m["message_type"] == t).collect()
}

fn join(hub: &Hub, c: &Arc<crate::hub::Client>, room: &str) {
    send(
        hub,
        c,
        json!({"message_id": 1, "message_type": "join_room", "data": {"room_id": room}}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_messages_reach_members_on_every_node_exactly_once() {
    let g = group();
    let (h1, h2, h3) = (node(&g, "n1"), node(&g, "n2"), node(&g, "n3"));
    let (a, b, c) = (connect(&h1, "a"), connect(&h2, "b"), connect(&h3, "c"));
    h1.create_room("lobby", None, 0).unwrap();
    until("every node to know every client", || {
        synced(&[&h1, &h2, &h3], 3)
    })
    .await;
    // The room exists on n1 only; n2 and n3 take a copy when their clients join.
    join(&h1, &a, "lobby");
    join(&h2, &b, "lobby");
    join(&h3, &c, "lobby");
    until("3 members everywhere", || {
        [&h1, &h2, &h3]
            .iter()
            .all(|h| h.room_info("lobby").unwrap()["clients"] == json!(3))
    })
    .await;
    for x in [&a, &b, &c] {
        received(x).await;
    }
    send(
        &h1,
        &a,
        json!({"message_id": 2, "message_type": "room_message", "data": {"room_id": "lobby", "content": "hi"}}),
    );
    let mut gc = read_until(&c, "room_message", 1).await;
    // Anything more would have arrived by the time a second message does.
    send(
        &h3,
        &c,
        json!({"message_id": 3, "message_type": "room_message", "data": {"room_id": "lobby", "content": "yo"}}),
    );
    let ga = read_until(&a, "room_message", 1).await;
    let gb = read_until(&b, "room_message", 2).await;
    // A barrier: a third message reaches c after anything still in flight.
    send(
        &h1,
        &a,
        json!({"message_id": 4, "message_type": "room_message", "data": {"room_id": "lobby", "content": "end"}}),
    );
    gc.extend(read_until(&c, "room_message", 1).await);
    let contents = |v: &[Value]| -> Vec<String> {
        of_type(v, "room_message")
            .iter()
            .map(|m| m["data"]["content"].to_string())
            .collect()
    };
    assert_eq!(contents(&ga), ["\"yo\""]);
    assert_eq!(contents(&gb), ["\"hi\"", "\"yo\""]);
    assert_eq!(contents(&gc), ["\"hi\"", "\"end\""]);
    assert_eq!(gb[0]["data"]["sender_id"], "a");
    assert_eq!(h2.to_room("lobby", "note", "1", None).unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_direct_messages_and_kicks_cross_nodes() {
    let g = group();
    let (h1, h2) = (node(&g, "n1"), node(&g, "n2"));
    let (a, b) = (connect(&h1, "a"), connect(&h2, "b"));
    until("both nodes synced", || synced(&[&h1, &h2], 2)).await;
    assert_eq!(h2.broadcast("news", r#"{"n":1}"#), 2);
    assert_eq!(of_type(&read_until(&a, "news", 1).await, "news").len(), 1);
    assert_eq!(of_type(&read_until(&b, "news", 1).await, "news").len(), 1);
    send(
        &h1,
        &a,
        json!({"message_id": 4, "message_type": "direct_message", "data": {"target_id": "b", "content": {"x": 1}}}),
    );
    let got = read_until(&b, "direct_message", 1).await;
    assert_eq!(
        of_type(&got, "direct_message")[0]["data"]["content"],
        json!({"x": 1})
    );
    assert!(h1.to_client("b", "t", "2", None).is_ok());
    assert_eq!(
        h1.to_client("nobody", "t", "2", None)
            .unwrap_err()
            .code
            .code(),
        4000
    );
    assert!(h1.kick("b", None, Some(4001), "bye"));
    until("b to be closed", || b.outbox.close_reason().is_some()).await;
    assert_eq!(b.outbox.close_reason().unwrap().0, 4001);
    assert!(!h1.kick("nobody", None, None, "x"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_keeps_one_connection_in_the_cluster() {
    let g = group();
    let (h1, h2) = (node(&g, "n1"), node(&g, "n2"));
    let first = connect(&h1, "u");
    until("n2 to know u", || cluster_clients(&h2) == 1).await;
    tokio::time::sleep(Duration::from_millis(2)).await; // a later connected_at
    let second = connect(&h2, "u");
    until("the first connection to close", || {
        first.outbox.close_reason().is_some()
    })
    .await;
    assert_eq!(first.outbox.close_reason().unwrap().0, CLOSE_REPLACED);
    assert!(second.outbox.close_reason().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_clients_counts_members_of_every_node() {
    let g = group();
    let (h1, h2, h3) = (node(&g, "n1"), node(&g, "n2"), node(&g, "n3"));
    h1.create_room("small", None, 2).unwrap();
    let (a, b, c) = (connect(&h1, "a"), connect(&h2, "b"), connect(&h3, "c"));
    until("synced", || synced(&[&h1, &h2, &h3], 3)).await;
    h1.join(&a, "small").unwrap();
    h2.join(&b, "small").unwrap();
    until("n3 to see 2 members", || {
        h3.room_info("small").unwrap()["clients"] == json!(2)
    })
    .await;
    assert_eq!(h3.join(&c, "small").unwrap_err().code.code(), 3002);
    // Rooms and counts as every node reports them.
    let rooms = h3.rooms_info();
    assert_eq!(rooms[0]["id"], "small");
    assert_eq!(rooms[0]["clients"], 2);
    assert_eq!(h3.room_info("small").unwrap()["members"], json!(["a", "b"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_room_deletes_it_on_every_node() {
    let g = group();
    let (h1, h2) = (node(&g, "n1"), node(&g, "n2"));
    h1.create_room("r", None, 0).unwrap();
    h2.create_room("r", None, 0).unwrap();
    let b = connect(&h2, "b");
    h2.join(&b, "r").unwrap();
    until("synced", || synced(&[&h1, &h2], 1)).await;
    h1.delete_room("r").unwrap();
    until("n2's copy to go", || h2.rooms_info().is_empty()).await;
    assert!(b.rooms.lock().is_empty());
    assert!(h1.delete_room("r").is_err());
    // No member is left behind in n1's view: a new room "r" of 1 takes a client.
    assert!(h1.room_info("r").is_none());
    h1.create_room("r", None, 1).unwrap();
    let a = connect(&h1, "a");
    h1.join(&a, "r").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_leaves_presence_within_the_ttl_and_a_goodbye_at_once() {
    let g = group();
    let (h1, h2, h3) = (node(&g, "n1"), node(&g, "n2"), node(&g, "n3"));
    let _a = connect(&h1, "a");
    let _c = connect(&h3, "c");
    until("synced", || synced(&[&h1, &h2, &h3], 2)).await;
    // n3 dies without a word: its tasks stop, no goodbye.
    h3.cluster().unwrap().vanish();
    let gone = Instant::now();
    until("n3's client to vanish from n1", || {
        cluster_clients(&h1) == 1
    })
    .await;
    assert!(
        gone.elapsed() < Duration::from_millis(300 + 40 * 3 + 200),
        "{:?}",
        gone.elapsed()
    );
    assert_eq!(h1.stats()["cluster"]["nodes"], 2);
    // A node that stops says goodbye: forgotten at once.
    h2.stop_cluster(Duration::from_secs(1)).await;
    until("n2 to be forgotten", || {
        h1.stats()["cluster"]["nodes"] == json!(1)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_gets_the_state_of_the_others() {
    let g = group();
    let h1 = node(&g, "n1");
    h1.create_room("r", Some("Room"), 50).unwrap();
    let clients: Vec<_> = (0..5000).map(|i| connect(&h1, &format!("c{i}"))).collect();
    for c in clients.iter().take(10) {
        h1.join(c, "r").unwrap();
    }
    let h2 = node(&g, "n2");
    // 5000 clients: a snapshot in two parts (256 KiB each at most).
    until("n2 to know n1's clients", || cluster_clients(&h2) == 5000).await;
    until("n2 to know the room", || {
        h2.room_info("r").is_some_and(|r| r["clients"] == json!(10))
    })
    .await;
    assert_eq!(h2.rooms_info()[0]["max_clients"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_and_duplicates_are_dropped() {
    let g = group();
    let (h1, h2) = (node(&g, "n1"), node(&g, "n2"));
    let b = connect(&h2, "b");
    until("synced", || synced(&[&h1, &h2], 1)).await;
    let c1 = h1.cluster().unwrap();
    let mut header = super::envelope::Header::new(super::envelope::Kind::All);
    header.n = "n1".into();
    header.i = c1.incarnation;
    header.s = 1 << 40;
    let payload = super::envelope::encode(&header, br#"{"message_type":"dup"}"#);
    let mut inbound = super::inbound::Inbound::default();
    for _ in 0..3 {
        inbound.handle(
            &h2,
            super::bus::BusMessage {
                topic: "all".into(),
                payload: payload.clone(),
            },
        );
    }
    assert_eq!(of_type(&read_until(&b, "dup", 1).await, "dup").len(), 1);
    assert_eq!(
        h2.cluster()
            .unwrap()
            .duplicates
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    // A node's own envelopes come back from the bus and are ignored.
    let mut own = super::inbound::Inbound::default();
    own.handle(
        &h1,
        super::bus::BusMessage {
            topic: "all".into(),
            payload,
        },
    );
    assert_eq!(h1.stats()["cluster"]["bus"]["duplicates"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_senders_lose_nothing_and_duplicate_nothing() {
    let g = group();
    let (h1, h2) = (node(&g, "n1"), node(&g, "n2"));
    h1.create_room("busy", None, 0).unwrap();
    let senders: Vec<_> = (0..4).map(|i| connect(&h1, &format!("s{i}"))).collect();
    for s in &senders {
        h1.join(s, "busy").unwrap();
    }
    let b = connect(&h2, "b");
    until("n2 to know the room", || h2.room_info("busy").is_some()).await;
    h2.join(&b, "busy").unwrap();
    until("n1 to see b in the room", || {
        h1.room_info("busy").unwrap()["clients"] == json!(5)
    })
    .await;
    let mut tasks = Vec::new();
    for (i, s) in senders.into_iter().enumerate() {
        let h1 = h1.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..200 {
                let content = json!(format!("{i}-{n}"));
                send(&h1, &s, json!({"message_id": n + 1, "message_type": "room_message", "data": {"room_id": "busy", "content": content}}));
                if n % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let got = read_until(&b, "room_message", 800).await;
    let mut contents: Vec<String> = of_type(&got, "room_message")
        .iter()
        .map(|m| m["data"]["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(contents.len(), 800);
    contents.sort();
    contents.dedup();
    assert_eq!(contents.len(), 800, "duplicates");
}
