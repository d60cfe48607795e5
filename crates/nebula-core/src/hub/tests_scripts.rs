//! Hook scripts beside the owner: connection events reach both, a custom
//! type scripts handle goes to them first, and what they pass on reaches the
//! owner's handler with its permission check.
use std::sync::Arc;

use serde_json::json;

use super::events::HubScripts;
use super::tests::{connect, hub, received, send, Recorder};

/// A recorder that handles two types as scripts would.
impl HubScripts for Recorder {
    fn handles(&self, t: &str) -> bool {
        t == "chat" || t == "note"
    }
}

#[tokio::test]
async fn connection_events_reach_owner_and_scripts() {
    let hub = hub();
    let owner = Arc::new(Recorder::default());
    let scripts = Arc::new(Recorder::default());
    hub.set_events(owner.clone());
    hub.set_scripts(Some(scripts.clone()));
    let a = connect(&hub, "a");
    let replaced = connect(&hub, "a");
    hub.disconnect(&replaced, 1000, "bye");
    drop(a);
    let want = [
        "connect a",
        "disconnect a 4000",
        "connect a",
        "disconnect a 1000",
    ];
    assert_eq!(*scripts.0.lock(), want);
    assert_eq!(*owner.0.lock(), want);
}

#[tokio::test]
async fn script_types_go_to_scripts_and_passed_messages_to_the_owner() {
    let hub = hub();
    let owner = Arc::new(Recorder::default());
    let scripts = Arc::new(Recorder::default());
    hub.set_events(owner.clone());
    hub.set_scripts(Some(scripts.clone()));
    hub.register_handler("chat", Some("admin:room".into()))
        .unwrap();
    hub.register_handler("typing", None).unwrap();
    let a = connect(&hub, "a");
    owner.0.lock().clear();

    // Scripts take their types before the owner, whatever the owner registered.
    send(
        &hub,
        &a,
        json!({"message_id": 1, "message_type": "chat", "data": {"t": 1}}),
    );
    send(&hub, &a, json!({"message_id": 2, "message_type": "typing"}));
    assert_eq!(
        *scripts.0.lock().last().unwrap(),
        r#"message a chat {"t":1} 1"#
    );
    assert_eq!(*owner.0.lock(), ["message a typing null 2"]);

    // Passed on: the owner's permission applies (a lacks admin:room → 2001).
    hub.pass_on(&a, "chat", r#"{"t":1}"#, 1);
    let got = received(&a).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["data"]["code"], 2001);
    assert_eq!(got[0]["request_id"], 1);

    // Passed on with no owner handler: nothing happens, no error.
    hub.pass_on(&a, "note", "null", 3);
    assert!(received(&a).await.is_empty());
    assert_eq!(owner.0.lock().len(), 1);

    // Without scripts, a type only they handled is unknown again.
    hub.set_scripts(None);
    send(&hub, &a, json!({"message_id": 4, "message_type": "note"}));
    assert_eq!(received(&a).await[0]["data"]["code"], 1000);
}
