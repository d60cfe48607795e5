//! Stopping: hubs → server → gateways → script VMs, each part seeing the
//! ones after it still running. What each part saw is recorded when it
//! stops: the server's keep-alive is dropped once the server has stopped,
//! and the scripts' `onTerminate` tells the test (through its waker) when
//! the VM shuts down.
use parking_lot::Mutex;

use super::*;

/// What the test watches: the parts, and a log of what each saw as it stopped.
struct Watched {
    app: App,
    hub: Arc<Hub>,
    hub_events: Arc<HubEventQueue>,
    hub_woke: Arc<Notify>,
    gateway: Arc<Gateway>,
    log: Arc<Mutex<Vec<String>>>,
    port: u16,
    _dir: tempfile::TempDir,
}

/// An app with a hub, a gateway (one python3 worker) and a script VM whose
/// `onTerminate` emits an event, listening on a free port.
async fn watched() -> Watched {
    let dir = tempfile::tempdir().expect("tempdir");
    let hooks = dir.path().join("hooks");
    std::fs::create_dir(&hooks).expect("hooks dir");
    let mut app = App::new(ServerConfig::default());
    let (hub_waker, hub_woke) = signal();
    let (hub, hub_events) = app
        .attach_hub(HubConfig::default(), hub_waker)
        .expect("a hub");
    let gateway = gateway(&dir.path().join("run"));
    app.attach_gateway(gateway.clone(), Vec::new())
        .expect("a gateway");
    let log = Arc::new(Mutex::new(Vec::new()));
    // The only script event is onTerminate's: its wake-up is the VM stopping.
    let (g, l) = (gateway.clone(), log.clone());
    let scripts_stop = move || -> Result<(), WakeRefused> {
        l.lock()
            .push(format!("scripts stop; workers: {}", workers(&g)));
        Ok(())
    };
    let config = scripts(
        &hooks,
        &[(
            "a.pb.js",
            "onTerminate((e) => { events.emit('bye', 1); return e.next(); })",
        )],
    );
    app.attach_jsvm(config, None, Vec::new(), scripts_stop)
        .expect("scripts");
    app.build(ignored()).expect("built");
    let (h, g, l) = (hub.clone(), gateway.clone(), log.clone());
    let server_stopped = OnDrop::new(move || {
        let scripts = if l.lock().is_empty() {
            "running"
        } else {
            "stopped"
        };
        l.lock().push(format!(
            "server stopped; websocket clients: {}, workers: {}, scripts: {scripts}",
            h.client_count(),
            workers(&g),
        ));
    });
    let port = app
        .listen("127.0.0.1".into(), 0, server_stopped)
        .expect("built")
        .await
        .expect("listening");
    assert_eq!(workers(&gateway), 1);
    Watched {
        app,
        hub,
        hub_events,
        hub_woke,
        gateway,
        log,
        port,
        _dir: dir,
    }
}

impl Watched {
    /// A WebSocket client, once the hub has told JavaScript it connected
    /// (the 101 is written before the connection task registers the client).
    async fn client(&self) -> TcpStream {
        let ws = ws_open(self.port, "/ws").await;
        woken(&self.hub_woke).await;
        let events = self.hub_events.take();
        assert!(matches!(events[..], [HubEvent::Connect { .. }]));
        assert_eq!(self.hub.client_count(), 1);
        ws
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_websocket_clients_then_the_server_then_workers_then_scripts() {
    let w = watched().await;
    let mut ws = w.client().await;
    let stopping = tokio::spawn(w.app.stop());
    assert_eq!(ws_close_code(&mut ws).await, 1001, "going away");
    // The hub waits for this client's closing handshake: meanwhile the
    // server still answers, and nothing else has stopped.
    assert_eq!(http_status(w.port, "/no/route").await, 404);
    assert!(w.log.lock().is_empty(), "{:?}", w.log.lock());
    drop(ws);
    tokio::time::timeout(GUARD, stopping)
        .await
        .expect("stopped in time")
        .expect("the stop task");
    assert_eq!(
        *w.log.lock(),
        [
            "server stopped; websocket clients: 0, workers: 1, scripts: running",
            "scripts stop; workers: 0",
        ]
    );
    assert!(refused(w.port).await, "nothing listens");
    assert_eq!(workers(&w.gateway), 0);
    // A second stop finds nothing left to stop.
    tokio::time::timeout(GUARD, w.app.stop())
        .await
        .expect("at once");
    assert_eq!(w.log.lock().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_now_stops_the_server_at_once_beside_the_closing_websocket_clients() {
    let w = watched().await;
    // A client that never answers the close: the exit does not wait for it
    // to stop listening, and waits at most half its bound for it.
    let ws = w.client().await;
    let began = std::time::Instant::now();
    tokio::time::timeout(GUARD, w.app.running().stop_now())
        .await
        .expect("stopped in time");
    assert!(
        began.elapsed() < EXIT_WAIT + Duration::from_secs(1),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(
        *w.log.lock(),
        [
            "server stopped; websocket clients: 1, workers: 1, scripts: running",
            "scripts stop; workers: 0",
        ]
    );
    assert!(refused(w.port).await, "nothing listens");
    drop(ws);
}
