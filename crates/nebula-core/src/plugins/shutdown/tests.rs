//! The in-flight count, the 503 while shutting down, and drain.
use std::sync::Arc;

use hyper::header::CONNECTION;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::*;
use crate::kernel::{run_layers, TestRequest};

fn layer(plugin: &ShutdownPlugin) -> Arc<dyn NativeLayer> {
    match plugin.layer(&json!({})) {
        Ok(Some(l)) => l,
        _ => panic!("no layer"),
    }
}

/// Runs one request through `layers`; the handler answers 200 once `release` fires.
async fn request(
    layers: Vec<Arc<dyn NativeLayer>>,
    release: Option<oneshot::Receiver<()>>,
) -> Reply {
    let mut request = TestRequest::new(Method::GET, "/x");
    let mut ctx = request.ctx();
    run_layers(&layers, &mut ctx, |_| async move {
        if let Some(rx) = release {
            let _ = rx.await;
        }
        Reply::empty(StatusCode::OK)
    })
    .await
}

/// Yields until `cond` holds (the spawned request got into its handler).
async fn until(cond: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition never held");
}

#[tokio::test]
async fn counts_a_request_while_it_is_in_flight() {
    let plugin = ShutdownPlugin::default();
    let shared = plugin.shared().clone();
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(request(vec![layer(&plugin)], Some(rx)));
    until(|| shared.in_flight() == 1).await;
    let _ = tx.send(());
    let reply = task.await.expect("request task");
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(shared.in_flight(), 0);
}

#[tokio::test]
async fn answers_503_with_connection_close_while_shutting_down() {
    let plugin = ShutdownPlugin::default();
    let l = layer(&plugin);
    let out = l.call("shutdown", Value::Null).await;
    assert_eq!(out, Ok(json!(0)));
    let reply = request(vec![l.clone()], None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers[CONNECTION], "close");
    let body: Value = serde_json::from_slice(&reply.body).expect("json body");
    assert_eq!(
        body,
        json!({ "error": "Service Unavailable", "message": "shutting down" })
    );
    // The refused request was never counted, and after() ran on it without uncounting.
    assert_eq!(plugin.shared().in_flight(), 0);
}

#[tokio::test]
async fn every_layer_of_the_plugin_sees_the_shutdown() {
    let plugin = ShutdownPlugin::default();
    let (a, b) = (layer(&plugin), layer(&plugin));
    let _ = a.call("shutdown", Value::Null).await;
    assert_eq!(
        request(vec![b], None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Another plugin (another engine) is not affected.
    let other = ShutdownPlugin::default();
    assert_eq!(
        request(vec![layer(&other)], None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_request_whose_client_left_is_uncounted() {
    let plugin = ShutdownPlugin::default();
    let shared = plugin.shared().clone();
    let (_tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(request(vec![layer(&plugin)], Some(rx)));
    until(|| shared.in_flight() == 1).await;
    // The connection's task is dropped mid-handler: after() never runs.
    task.abort();
    let _ = task.await;
    assert_eq!(shared.in_flight(), 0);
}

#[tokio::test]
async fn the_flag_is_set_when_call_returns_not_when_polled() {
    let plugin = ShutdownPlugin::default();
    let l = layer(&plugin);
    let pending = l.call("shutdown", Value::Null);
    assert!(plugin.shared().is_shutting_down());
    drop(pending);
}

#[tokio::test]
async fn drain_waits_for_the_last_request() {
    let plugin = ShutdownPlugin::default();
    let shared = plugin.shared().clone();
    let l = layer(&plugin);
    let (tx, rx) = oneshot::channel();
    let slow = tokio::spawn(request(vec![l.clone()], Some(rx)));
    until(|| shared.in_flight() == 1).await;
    let _ = l.call("shutdown", Value::Null).await;
    let drain = tokio::spawn(l.call("drain", json!({ "timeoutMs": 60_000 })));
    // A new request meanwhile is refused; the slow one still finishes.
    assert_eq!(
        request(vec![l.clone()], None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(!drain.is_finished());
    let _ = tx.send(());
    assert_eq!(slow.await.expect("slow").status, StatusCode::OK);
    let out = drain.await.expect("drain task");
    assert_eq!(out, Ok(json!({ "drained": true, "inFlight": 0 })));
}

#[tokio::test]
async fn drain_gives_up_at_the_timeout() {
    let plugin = ShutdownPlugin::default();
    let shared = plugin.shared().clone();
    let l = layer(&plugin);
    let (_tx, rx) = oneshot::channel::<()>();
    let _slow = tokio::spawn(request(vec![l.clone()], Some(rx)));
    until(|| shared.in_flight() == 1).await;
    let out = l.call("drain", json!({ "timeoutMs": 20 })).await;
    assert_eq!(out, Ok(json!({ "drained": false, "inFlight": 1 })));
}

#[tokio::test]
async fn drain_with_nothing_in_flight_is_immediate() {
    let plugin = ShutdownPlugin::default();
    let out = layer(&plugin)
        .call("drain", json!({ "timeoutMs": 0 }))
        .await;
    assert_eq!(out, Ok(json!({ "drained": true, "inFlight": 0 })));
    let count = layer(&plugin).call("count", Value::Null).await;
    assert_eq!(count, Ok(json!(0)));
    assert!(layer(&plugin).call("nope", Value::Null).await.is_err());
}

#[test]
fn rejects_options_that_are_not_an_object() {
    assert!(create(&json!([])).is_err());
    assert!(create(&json!({})).is_ok());
    assert!(create(&Value::Null).is_ok());
}

#[tokio::test]
async fn drain_duration_is_bounded() {
    // An absurd timeout is capped (and a negative one is 0), never a panic.
    let plugin = ShutdownPlugin::default();
    let l = layer(&plugin);
    for t in [json!(-5), json!(1e300), json!("x")] {
        let out = l.call("drain", json!({ "timeoutMs": t })).await;
        assert_eq!(out, Ok(json!({ "drained": true, "inFlight": 0 })));
    }
}
