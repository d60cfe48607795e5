//! Direct messages to clients a node has not heard of yet, over the
//! in-process bus: delivered by whichever node holds them, "client not
//! found" only once every node said so.
use std::time::{Duration, Instant};

use serde_json::json;

use super::super::tests::{group, node, of_type, read_until, synced, until};
use crate::hub::tests::{connect, received, send};

/// A direct message from `a` (on `h`) to `target`, with message id `id`.
fn dm(h: &crate::hub::Hub, a: &std::sync::Arc<crate::hub::Client>, id: u64, target: &str) {
    send(
        h,
        a,
        json!({"message_id": id, "message_type": "direct_message", "data": {"target_id": target, "content": id}}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_whose_announcement_has_not_arrived_still_gets_its_message() {
    let g = group();
    let (h1, h2) = (node(&g, "n1"), node(&g, "n2"));
    let a = connect(&h1, "a");
    until("synced", || synced(&[&h1, &h2], 1)).await;
    let x = connect(&h2, "x");
    until("n1 to know x", || {
        h1.cluster().unwrap().directory.read().locate("x").is_some()
    })
    .await;
    // As if n2's announcement of x were still on its way to n1.
    h1.cluster()
        .unwrap()
        .directory
        .write()
        .peers
        .values_mut()
        .for_each(|p| {
            p.clients.remove("x");
        });
    dm(&h1, &a, 7, "x");
    let got = read_until(&x, "direct_message", 1).await;
    assert_eq!(of_type(&got, "direct_message")[0]["data"]["content"], 7);
    // The holder's answer settles the lookup: no error reaches the sender.
    until("the lookup to settle", || {
        h1.cluster().unwrap().lookups_pending() == 0
    })
    .await;
    let to_a = received(&a).await;
    assert!(of_type(&to_a, "error").is_empty(), "{to_a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_on_no_node_is_answered_4000_once_every_node_said_so() {
    let g = group();
    let (h1, h2, h3) = (node(&g, "n1"), node(&g, "n2"), node(&g, "n3"));
    let a = connect(&h1, "a");
    until("synced", || synced(&[&h1, &h2, &h3], 1)).await;
    let sent = Instant::now();
    dm(&h1, &a, 9, "nobody");
    let got = read_until(&a, "error", 1).await;
    let err = of_type(&got, "error")[0];
    assert_eq!(err["request_id"], 9);
    assert_eq!(err["data"]["code"], 4000);
    // Answered by the nodes, well before the lookup's deadline would pass.
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(h1.cluster().unwrap().lookups_pending(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_resolves_once_the_bus_is_connected() {
    let config = crate::hub::HubConfig {
        bus: Some(super::super::config::BusConfig {
            kind: super::super::config::BusKind::Local { group: group() },
            prefix: "nebula".into(),
            node_id: "n1".into(),
            heartbeat: Duration::from_millis(40),
            presence_ttl: Duration::from_millis(300),
            queue: 64,
        }),
        ..crate::hub::HubConfig::default()
    };
    let hub = crate::hub::Hub::new(config);
    hub.start_cluster().await;
    assert_eq!(hub.stats()["cluster"]["bus"]["connected"], true);
}
