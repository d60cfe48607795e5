//! The three queues to the JavaScript side: their bounds, their answers
//! when full, and one wake-up per batch.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};

use super::*;
use crate::http::JsResponse;
use crate::hub::identity::Identity;
use crate::hub::{Client, ErrorCode, HubEvents};
use crate::jsvm::JsvmEvents;

fn client(hub: &Hub, id: &str) -> Arc<Client> {
    hub.connect(Identity::anonymous(id, &[]), None)
        .expect("a new client")
}

#[test]
fn a_connection_with_64_messages_waiting_gets_1005_until_javascript_takes_them() {
    let hub = Hub::new(HubConfig::default());
    let events = HubEventQueue::new(ignored());
    let busy = client(&hub, "busy");
    let other = client(&hub, "other");
    for i in 0..hub_events::MAX_WAITING_PER_CLIENT {
        events
            .message(&busy, "chat", "{}", u64::from(i))
            .expect("room for this connection");
    }
    let refused = events
        .message(&busy, "chat", "{}", 64)
        .expect_err("the 65th message of one connection");
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert_eq!(refused.code.code(), 1005);
    assert_eq!(events.refused(), 1, "counted as refused_for_js");
    // Another connection is not held back, nor are lifecycle events.
    events
        .message(&other, "chat", "{}", 0)
        .expect("its own room");
    events.joined(&busy, "room");
    let taken = events.take();
    assert_eq!(taken.len(), 66, "64 + 1 messages and the join");
    assert!(matches!(taken.last(), Some(HubEvent::Join { room, .. }) if room == "room"));
    events
        .message(&busy, "chat", "{}", 65)
        .expect("taken: the connection has room again");
    assert_eq!(events.refused(), 1);
}

#[test]
fn a_full_hub_queue_refuses_messages_but_never_lifecycle_events() {
    let hub = Hub::new(HubConfig::default());
    let events = HubEventQueue::new(ignored());
    let per = hub_events::MAX_WAITING_PER_CLIENT as usize;
    let clients: Vec<_> = (0..=hub_events::MAX_QUEUED_MESSAGES / per)
        .map(|i| client(&hub, &format!("c{i}")))
        .collect();
    for c in &clients[..hub_events::MAX_QUEUED_MESSAGES / per] {
        for i in 0..per {
            events.message(c, "t", "1", i as u64).expect("room");
        }
    }
    let last = clients.last().expect("one more client");
    let refused = events
        .message(last, "t", "1", 0)
        .expect_err("65,536 messages wait");
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert_eq!(
        last.waiting.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "not counted as waiting"
    );
    events.connected(last);
    events.disconnected(last, 1000, "bye");
    let taken = events.take();
    assert_eq!(taken.len(), hub_events::MAX_QUEUED_MESSAGES + 2);
    assert!(matches!(taken[taken.len() - 2], HubEvent::Connect { .. }));
    assert!(matches!(
        &taken[taken.len() - 1],
        HubEvent::Disconnect { code: 1000, reason, .. } if reason == "bye"
    ));
}

#[test]
fn hub_message_bytes_are_bounded_too() {
    let hub = Hub::new(HubConfig::default());
    let events = HubEventQueue::new(ignored());
    let c = client(&hub, "big");
    let half = "x".repeat(hub_events::MAX_QUEUED_BYTES / 2);
    events.message(&c, "t", &half, 0).expect("half");
    events.message(&c, "t", &half, 1).expect("exactly full");
    let refused = events
        .message(&c, "t", "1", 2)
        .expect_err("one byte too many");
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert_eq!(events.take().len(), 2);
    events.message(&c, "t", "1", 3).expect("taken: room again");
}

#[test]
fn script_events_beyond_the_bound_are_dropped() {
    let events = ScriptEventQueue::new(ignored());
    for i in 0..script_events::MAX_QUEUED_EVENTS {
        events.emitted("tick", &i.to_string());
    }
    events.emitted("tick", "\"dropped\"");
    let taken = events.take();
    assert_eq!(taken.len(), script_events::MAX_QUEUED_EVENTS);
    assert_eq!(taken.last().map(|(_, d)| d.as_str()), Some("65535"));
    events.emitted("tock", "1");
    assert_eq!(names(&events.take()), ["tock"], "taken: room again");
}

fn get(target: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri(target)
        .body(Full::new(Bytes::new()))
        .expect("a request")
}

#[tokio::test]
async fn requests_wait_for_one_wake_up_and_go_in_one_batch() {
    let mut app = App::new(ServerConfig::default());
    app.builder()
        .expect("not built")
        .add_route(&[Method::GET], "/r/:n", 7)
        .expect("a route");
    let (waker, woke) = signal();
    app.build(waker).expect("built");
    let service = app.service().expect("built").clone();
    let calls: Vec<_> = (0..3)
        .map(|n| {
            let service = service.clone();
            tokio::spawn(async move { service.handle(get(&format!("/r/{n}"))).await })
        })
        .collect();
    woken(&woke).await;
    let mut taken = Vec::new();
    while taken.len() < 3 {
        taken.extend(app.take_requests());
        if taken.len() < 3 {
            woken(&woke).await;
        }
    }
    assert!(taken.iter().all(|r| r.route == 7));
    for req in &taken {
        let answer = JsResponse {
            status: 200,
            headers: Vec::new(),
            body: Bytes::from(req.target.clone()),
            stream: None,
        };
        assert!(service.complete(req.id, answer));
    }
    for (n, call) in calls.into_iter().enumerate() {
        let res = call.await.expect("the call");
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(body, format!("/r/{n}"));
    }
}

#[tokio::test]
async fn requests_get_503_when_the_javascript_thread_refuses_the_wake_up() {
    let mut app = App::new(ServerConfig::default());
    app.builder()
        .expect("not built")
        .add_route(&[Method::GET], "/r", 0)
        .expect("a route");
    app.build(|| Err(WakeRefused("Closing".into())))
        .expect("built");
    let service = app.service().expect("built").clone();
    let res = tokio::time::timeout(GUARD, service.handle(get("/r")))
        .await
        .expect("answered at once, not at the handler timeout");
    assert_eq!(res.status(), 503);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        body["message"],
        "handler unavailable: the JavaScript thread refused the call (Closing)"
    );
    assert!(app.take_requests().is_empty(), "answered, not left queued");
}
