//! Assembling and starting: the wiring between the parts, and a start that
//! fails leaving nothing running.
use super::*;

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("an address").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_cannot_start_stops_the_others_and_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = gateway(&dir.path().join("run"));
    // Its runtime directory cannot be made: under a file.
    std::fs::write(dir.path().join("file"), "").expect("a file");
    let bad = Arc::new(
        Gateway::from_json(&json!({
            "runtimeDir": dir.path().join("file").join("run"),
            "services": [{"name": "bad", "command": ["python3", worker_py()], "routes": ["/bad/*"]}],
        }))
        .expect("options"),
    );
    let mut app = App::new(ServerConfig::default());
    app.attach_gateway(good.clone(), Vec::new())
        .expect("attached");
    app.attach_gateway(bad.clone(), Vec::new())
        .expect("attached");
    app.build(ignored()).expect("built");
    let held = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let released = held.clone();
    let keep_alive =
        OnDrop::new(move || released.store(false, std::sync::atomic::Ordering::SeqCst));
    let port = free_port();
    let start = app
        .listen("127.0.0.1".into(), port, keep_alive)
        .expect("built");
    let err = tokio::time::timeout(GUARD, start)
        .await
        .expect("the start ended")
        .expect_err("the second gateway cannot start");
    assert!(matches!(err, AppError::Services(_)), "{err:?}");
    assert!(err.to_string().starts_with("services: "), "{err}");
    assert!(refused(port).await, "the server stopped listening");
    assert_eq!(workers(&good), 0, "the gateway started first was stopped");
    assert_eq!(workers(&bad), 0);
    assert!(
        !held.load(std::sync::atomic::Ordering::SeqCst),
        "nothing keeps Node alive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_starts_the_workers_and_resolves_to_the_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(&dir.path().join("run"));
    let mut app = App::new(ServerConfig::default());
    app.attach_gateway(gw.clone(), Vec::new())
        .expect("attached");
    assert_eq!(workers(&gw), 0, "workers start when the app listens");
    let port = serve(&mut app).await;
    assert_eq!(workers(&gw), 1);
    // The server answers (a path of no route: 404).
    assert_eq!(http_status(port, "/nothing/here").await, 404);
    tokio::time::timeout(GUARD, app.stop())
        .await
        .expect("stopped");
    assert_eq!(workers(&gw), 0);
    assert!(refused(port).await);
}

#[test]
fn parts_and_routes_are_added_before_build_and_build_runs_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = App::new(ServerConfig::default());
    assert!(matches!(app.service(), Err(AppError::NotBuilt)));
    assert!(matches!(
        app.listen("127.0.0.1".into(), 0, ()),
        Err(AppError::NotBuilt)
    ));
    app.build(ignored()).expect("built");
    let again = app.build(ignored()).expect_err("built once");
    assert_eq!(again.to_string(), "the engine is already built");
    let late = app
        .attach_gateway(gateway(&dir.path().join("run")), Vec::new())
        .expect_err("after build");
    assert_eq!(
        late.to_string(),
        "routes can only be added before the engine serves requests"
    );
    assert!(matches!(
        app.attach_hub(HubConfig::default(), ignored()),
        Err(AppError::Built)
    ));
    assert!(matches!(
        app.attach_jsvm(JsvmConfig::new(dir.path()), None, Vec::new(), ignored()),
        Err(AppError::Built)
    ));
}

#[test]
fn a_route_a_mount_would_hide_is_refused_and_the_app_stays_unbuilt() {
    let mut app = App::new(ServerConfig::default());
    app.builder()
        .expect("not built")
        .add_route(&[hyper::Method::GET], "/ws", 0)
        .expect("a route");
    app.attach_hub(HubConfig::default(), ignored())
        .expect("a hub on /ws");
    let err = app.build(ignored()).expect_err("the hub answers /ws");
    assert!(matches!(err, AppError::Mounts(_)), "{err:?}");
    assert!(err.to_string().contains("collides with /ws"), "{err}");
    assert!(app.builder().is_ok(), "not built: the builder is kept");
    assert!(matches!(app.service(), Err(AppError::NotBuilt)));
}

#[test]
fn the_script_vm_writes_the_hook_types_for_editors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = App::new(ServerConfig::default());
    let config = scripts(
        dir.path(),
        &[("a.pb.js", "routerAdd('GET', '/a', (e) => e.noContent())")],
    );
    let (jsvm, _) = app
        .attach_jsvm(config, None, Vec::new(), ignored())
        .expect("loaded");
    let written = std::fs::read_to_string(dir.path().join("types.d.ts")).expect("types.d.ts");
    assert_eq!(written, crate::jsvm::TYPES_D_TS);
    jsvm.shutdown();
}

#[test]
fn a_script_vm_that_cannot_load_is_refused_with_its_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = App::new(ServerConfig::default());
    // Hub hooks need a hub, and none was attached.
    let config = scripts(dir.path(), &[("a.pb.js", "onWsConnect((e) => e.next())")]);
    let Err(err) = app.attach_jsvm(config, None, Vec::new(), ignored()) else {
        panic!("hub hooks loaded without a hub");
    };
    assert!(matches!(err, AppError::Jsvm(_)), "{err:?}");
    assert!(err.to_string().starts_with("jsvm: "), "{err}");
    assert!(
        err.to_string().contains("needs the engine's HubPlugin"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_see_the_first_hub_attached() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = App::new(ServerConfig::default());
    app.attach_hub(HubConfig::default(), ignored())
        .expect("the first hub");
    let second =
        HubConfig::from_json(&json!({"path": "/ws2", "apiPrefix": "/api2"})).expect("options");
    app.attach_hub(second, ignored()).expect("a second hub");
    let config = scripts(
        dir.path(),
        &[(
            "a.pb.js",
            "onWsConnect((e) => { events.emit('connect', e.client.id); return e.next(); })",
        )],
    );
    let (signal_waker, woke) = signal();
    let (jsvm, events) = app
        .attach_jsvm(config, None, Vec::new(), signal_waker)
        .expect("loaded: the scripts have a hub");
    let port = serve(&mut app).await;
    // The second hub's client first: its connection runs no script.
    let _second = ws_open(port, "/ws2?client_id=second").await;
    let _first = ws_open(port, "/ws?client_id=first").await;
    woken(&woke).await;
    let taken = events.take();
    assert_eq!(data(&taken), [json!("anon:first")], "{taken:?}");
    let stop = app.stop();
    drop((_second, _first));
    tokio::time::timeout(GUARD, stop).await.expect("stopped");
    drop(jsvm);
}
