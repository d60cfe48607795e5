//! CachePlugin tests, continued (helpers in the parent module).
use super::*;

#[tokio::test]
async fn layers_without_http_or_with_ttl_0_leave_requests_alone() {
    let (p, _) = plugin(json!({}));
    let origin = Origin::ok("x");
    for opts in [json!({ "http": false }), json!({ "ttl": 0 })] {
        let l = layer(&p, opts);
        let r = get(&l, &origin, "/a").await;
        get(&l, &origin, "/a").await;
        assert_eq!(x_cache(&r), None);
    }
    assert_eq!(origin.calls(), 4);
}

#[tokio::test]
async fn route_entries_obey_the_store_bounds() {
    let (p, _) = plugin(json!({ "maxEntries": 3 }));
    let l = layer(&p, json!({}));
    let origin = Origin::ok("x");
    for i in 0..10 {
        get(&l, &origin, &format!("/a/{i}")).await;
    }
    assert_eq!(p.memory().map(MemoryStore::len), Some(3));
}

#[tokio::test]
async fn stores_the_reply_without_its_x_cache_header() {
    let (p, _) = plugin(json!({}));
    let l = layer(&p, json!({}));
    let origin = Origin::ok("x").with("cache-control", "max-age=60");
    get(&l, &origin, "/a").await;
    let hit = get(&l, &origin, "/a").await;
    assert_eq!(hit.headers.get_all(X_CACHE).iter().count(), 1);
    assert_eq!(hit.headers[CACHE_CONTROL], "max-age=60");
}

// ---- method calls -----------------------------------------------------------------

#[tokio::test]
async fn method_results_are_stored_and_found_by_key() {
    let (p, clock) = plugin(json!({}));
    let l = layer(&p, json!({ "ttl": 1000, "http": false }));
    let key = json!({ "key": "users:get:abc" });
    assert_eq!(l.call("get", key.clone()).await, Ok(Value::Null));
    let set = l
        .call(
            "set",
            json!({ "key": "users:get:abc", "value": "{\"id\":1}" }),
        )
        .await;
    assert_eq!(set, Ok(json!(true)));
    assert_eq!(l.call("get", key.clone()).await, Ok(json!("{\"id\":1}")));
    clock.advance_ms(1000);
    assert_eq!(l.call("get", key.clone()).await, Ok(Value::Null));
    l.call("set", json!({ "key": "users:get:abc", "value": "1" }))
        .await
        .ok();
    assert_eq!(l.call("delete", key.clone()).await, Ok(json!(true)));
    assert_eq!(l.call("get", key.clone()).await, Ok(Value::Null));
    l.call("set", json!({ "key": "users:get:abc", "value": "1" }))
        .await
        .ok();
    assert_eq!(l.call("clear", Value::Null).await, Ok(json!(1)));
    assert_eq!(l.call("flush", Value::Null).await, Ok(json!(true)));
}

#[tokio::test]
async fn stats_lists_the_fresh_entries_of_calls_and_routes_oldest_first() {
    let (p, clock) = plugin(json!({}));
    let calls = layer(
        &p,
        json!({ "ttl": 1000, "http": false, "module": "users", "method": "get" }),
    );
    let routes = layer(
        &p,
        json!({ "ttl": 5000, "module": "pages", "method": "home" }),
    );
    assert_eq!(
        calls.call("stats", Value::Null).await,
        Ok(json!({ "size": 0, "entries": [] }))
    );
    calls
        .call("set", json!({ "key": "users:get:a", "value": "1" }))
        .await
        .ok();
    clock.advance_ms(10);
    get(&routes, &Origin::ok("x"), "/home").await;
    let Ok(stats) = routes.call("stats", Value::Null).await else {
        panic!("stats failed")
    };
    let now = clock.now_ms();
    assert_eq!(stats["size"], json!(2));
    assert_eq!(
        stats["entries"][0],
        json!({ "key": "users:get:a", "createdAt": now - 10, "expiresAt": now - 10 + 1000 })
    );
    let route_key = stats["entries"][1]["key"].as_str().unwrap_or_default();
    assert!(route_key.starts_with("pages:home:"), "{route_key}");
    assert_eq!(stats["entries"][1]["expiresAt"], json!(now + 5000));
    // Expired entries are not listed.
    clock.advance_ms(991);
    let Ok(stats) = calls.call("stats", Value::Null).await else {
        panic!("stats failed")
    };
    assert_eq!(stats["size"], json!(1));
    assert_eq!(stats["entries"][0]["key"], json!(route_key));
}

#[tokio::test]
async fn method_call_operations_check_their_arguments() {
    let (p, _) = plugin(json!({}));
    let l = layer(&p, json!({}));
    assert!(l.call("get", json!({})).await.is_err());
    assert!(l.call("get", json!({ "key": "" })).await.is_err());
    assert!(l
        .call("get", json!({ "key": "k".repeat(5000) }))
        .await
        .is_err());
    assert!(l
        .call("set", json!({ "key": "k", "value": 1 }))
        .await
        .is_err());
    assert!(l.call("explode", Value::Null).await.is_err());
    let zero = layer(&p, json!({ "ttl": 0 }));
    assert_eq!(
        zero.call("set", json!({ "key": "k", "value": "1" })).await,
        Ok(json!(false))
    );
}

// ---- options, Cache-Control parsing, encoding ----------------------------------------

#[test]
fn rejects_invalid_options() {
    let clock: Arc<dyn Clock> = ManualClock::new();
    for bad in [
        json!([]),
        json!({ "store": "disk" }),
        json!({ "store": 5 }),
        json!({ "maxEntries": -1 }),
        json!({ "maxBytes": "big" }),
        json!({ "store": "redis" }),
        json!({ "store": "redis", "url": "not a url" }),
        json!({ "store": "redis", "url": "redis://127.0.0.1:1", "prefix": "" }),
        json!({ "store": "redis", "url": "redis://127.0.0.1:1", "timeoutMs": 0 }),
    ] {
        assert!(
            CachePlugin::with_clock(&bad, clock.clone()).is_err(),
            "{bad}"
        );
    }
    let ok = CachePlugin::with_clock(
        &json!({ "store": "redis", "url": "redis://127.0.0.1:1" }),
        clock,
    );
    assert!(ok.is_ok());
    let (p, _) = plugin(json!({}));
    for bad in [
        json!({}),
        json!({ "module": "m" }),
        json!({ "module": "m", "method": "x", "ttl": -1 }),
        json!({ "module": "m", "method": "x", "http": 1 }),
    ] {
        assert!(p.layer(&bad).is_err(), "{bad}");
    }
}

// ---- Redis unreachable ------------------------------------------------------------

#[tokio::test]
async fn an_unreachable_redis_is_a_miss_not_an_error() {
    // Port 1: connections are refused at once.
    let (p, _) =
        plugin(json!({ "store": "redis", "url": "redis://127.0.0.1:1", "timeoutMs": 200 }));
    let l = layer(&p, json!({}));
    let origin = Origin::ok("x");
    let a = get(&l, &origin, "/a").await;
    let b = get(&l, &origin, "/a").await;
    assert_eq!(
        (x_cache(&a), x_cache(&b), origin.calls()),
        (Some("MISS"), Some("MISS"), 2)
    );
    assert_eq!(l.call("connect", Value::Null).await, Ok(json!(false)));
    assert_eq!(l.call("get", json!({ "key": "k" })).await, Ok(Value::Null));
    assert_eq!(
        l.call("set", json!({ "key": "k", "value": "1" })).await,
        Ok(json!(false))
    );
    assert!(l.call("clear", Value::Null).await.is_err());
    assert_eq!(l.call("flush", Value::Null).await, Ok(json!(true)));
}
