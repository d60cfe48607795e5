//! Tests, continued (helpers in the parent module).
use super::*;
use crate::kernel::Classify;

#[tokio::test]
async fn percent_decoding_happens_once() {
    let fx = Fixture::new();
    // A directory literally named `%2e%2e` is an ordinary name: reachable
    // via `%252e%252e`, and never confused with `..`.
    fs::create_dir_all(fx.root().join("%2e%2e")).expect("dir");
    fs::write(fx.root().join("%2e%2e/x.txt"), "literal").expect("x");
    fs::write(fx.root().join("with space.txt"), "spaced").expect("space");
    let sf = fx.mount("");
    let resp = get(&sf, "/%252e%252e/x.txt").await.expect("literal name");
    assert_eq!(body_bytes(resp).await, b"literal");
    let resp = get(&sf, "/with%20space.txt").await.expect("space");
    assert_eq!(body_bytes(resp).await, b"spaced");
}

#[tokio::test]
async fn dotfiles_are_refused() {
    let fx = Fixture::new();
    fs::create_dir_all(fx.root().join(".git")).expect(".git");
    fs::write(fx.root().join(".git/config"), "x").expect("config");
    let sf = fx.mount("");
    for path in ["/.env", "/%2eenv", "/.git/config", "/.git/"] {
        assert!(get(&sf, path).await.is_none(), "{path}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_may_not_escape_the_root() {
    use std::os::unix::fs::symlink;
    let fx = Fixture::new();
    symlink(
        fx.outer.path().join("secret.txt"),
        fx.root().join("link.txt"),
    )
    .expect("file link");
    symlink(fx.outer.path(), fx.root().join("outside")).expect("dir link");
    symlink(fx.root().join("a.css"), fx.root().join("inside.css")).expect("inner link");
    fs::create_dir_all(fx.root().join("evil")).expect("evil");
    symlink(
        fx.outer.path().join("secret.txt"),
        fx.root().join("evil/index.html"),
    )
    .expect("index link");
    let sf = fx.mount("");
    assert!(get(&sf, "/link.txt").await.is_none());
    assert!(get(&sf, "/outside/secret.txt").await.is_none());
    // Whatever the route, only the canonical location counts: this one lands
    // back inside the root, so it is served.
    assert!(get(&sf, "/outside/root/a.css").await.is_some());
    assert!(
        get(&sf, "/evil").await.is_none(),
        "index.html symlinked out"
    );
    let resp = get(&sf, "/inside.css").await.expect("link within root");
    assert_eq!(header(&resp, CONTENT_TYPE), "text/css; charset=utf-8");
    assert_eq!(body_bytes(resp).await, b"body{color:red}");
}

#[cfg(unix)]
#[tokio::test]
async fn root_given_through_a_symlink_works() {
    let fx = Fixture::new();
    let alias = fx.outer.path().join("alias");
    std::os::unix::fs::symlink(fx.root(), &alias).expect("alias");
    let sf = StaticFiles::new(vec![StaticMount {
        prefix: String::new(),
        root: alias,
        cache: CachePolicy::NoCache,
    }])
    .expect("mount");
    assert!(get(&sf, "/a.css").await.is_some());
}

#[tokio::test]
async fn prefix_matches_on_segment_boundary() {
    let fx = Fixture::new();
    let sf = fx.mount("/static/");
    assert!(get(&sf, "/static/a.css").await.is_some());
    assert!(get(&sf, "/staticx/a.css").await.is_none());
    assert!(get(&sf, "/staticx").await.is_none());
    assert!(get(&sf, "/a.css").await.is_none());
    assert!(get(&sf, "/other/static/a.css").await.is_none());
    // A missing leading slash is tolerated in configuration.
    let sf = fx.mount("static");
    assert!(get(&sf, "/static/a.css").await.is_some());
    // The query (if a caller leaves it on) is ignored.
    assert!(get(&sf, "/static/a.css?v=3").await.is_some());
}

#[tokio::test]
async fn longest_prefix_wins_then_falls_back() {
    let general = tempfile::tempdir().expect("general");
    let assets = tempfile::tempdir().expect("assets");
    fs::create_dir_all(general.path().join("assets")).expect("dir");
    fs::write(general.path().join("assets/app.js"), "general").expect("w");
    fs::write(general.path().join("assets/only-general.txt"), "fallback").expect("w");
    fs::write(assets.path().join("app.js"), "assets").expect("w");
    let sf = StaticFiles::new(vec![
        StaticMount {
            prefix: "/".into(),
            root: general.path().into(),
            cache: CachePolicy::NoCache,
        },
        StaticMount {
            prefix: "/assets".into(),
            root: assets.path().into(),
            cache: CachePolicy::MaxAge(60),
        },
    ])
    .expect("mounts");
    let resp = get(&sf, "/assets/app.js").await.expect("app.js");
    assert_eq!(header(&resp, CACHE_CONTROL), "public, max-age=60");
    assert_eq!(body_bytes(resp).await, b"assets");
    let resp = get(&sf, "/assets/only-general.txt")
        .await
        .expect("fallback");
    assert_eq!(header(&resp, CACHE_CONTROL), "no-cache");
    assert_eq!(body_bytes(resp).await, b"fallback");
    assert!(get(&sf, "/assets/missing.txt").await.is_none());
}

#[tokio::test]
async fn only_get_and_head() {
    let fx = Fixture::new();
    let sf = fx.mount("");
    for method in [
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::TRACE,
    ] {
        assert!(
            sf.serve(&method, "/a.css", &HeaderMap::new())
                .await
                .is_none(),
            "{method}"
        );
    }
}

#[tokio::test]
async fn new_validates_mounts() {
    let fx = Fixture::new();
    let mount = |prefix: &str, root: PathBuf| StaticMount {
        prefix: prefix.into(),
        root,
        cache: CachePolicy::NoCache,
    };
    let missing = fx.outer.path().join("missing");
    let err = StaticFiles::new(vec![mount("", missing.clone())]).expect_err("missing root");
    assert!(
        err.is_bad_input(),
        "a missing root is the configuration's: {err}"
    );
    let err = err.to_string();
    assert!(err.contains(&missing.display().to_string()), "{err}");
    let err = StaticFiles::new(vec![
        mount("/ok", fx.root()),
        mount("/f", fx.outer.path().join("secret.txt")),
    ])
    .expect_err("file root");
    assert!(err.is_bad_input(), "{err}");
    let err = err.to_string();
    assert!(
        err.contains("static[1]") && err.contains("not a directory"),
        "{err}"
    );
    for bad in ["/a/../b", "/a//b", "/a b", "/a?x", "/%2e", "/a\\b"] {
        let err = StaticFiles::new(vec![mount(bad, fx.root())]).expect_err(bad);
        assert!(err.is_bad_input(), "{err}");
        assert!(err.to_string().contains("prefix"), "{err}");
    }
    let sf = StaticFiles::new(Vec::new()).expect("empty");
    assert!(sf.is_empty());
    assert!(get(&sf, "/a.css").await.is_none());
    assert!(!fx.mount("").is_empty());
}

#[test]
fn cache_policy_mapping() {
    use serde_json::json;
    assert_eq!(CachePolicy::default(), CachePolicy::NoCache);
    assert_eq!(CachePolicy::NoCache.header_value(), "no-cache");
    assert_eq!(CachePolicy::MaxAge(60).header_value(), "public, max-age=60");
    assert_eq!(CachePolicy::from_json(None), Ok(CachePolicy::NoCache));
    assert_eq!(
        CachePolicy::from_json(Some(&json!(null))),
        Ok(CachePolicy::NoCache)
    );
    assert_eq!(
        CachePolicy::from_json(Some(&json!(false))),
        Ok(CachePolicy::NoCache)
    );
    assert_eq!(
        CachePolicy::from_json(Some(&json!(true))),
        Ok(CachePolicy::MaxAge(DEFAULT_MAX_AGE_SECS))
    );
    assert_eq!(
        CachePolicy::from_json(Some(&json!(3600))),
        Ok(CachePolicy::MaxAge(3600))
    );
    assert_eq!(
        CachePolicy::from_json(Some(&json!(1.9))),
        Ok(CachePolicy::MaxAge(1))
    );
    assert_eq!(
        CachePolicy::from_json(Some(&json!(0))),
        Ok(CachePolicy::NoCache)
    );
    assert!(CachePolicy::from_json(Some(&json!(-1))).is_err());
    assert!(CachePolicy::from_json(Some(&json!("1h"))).is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn unreadable_or_special_files_are_none() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let locked = fx.root().join("locked.txt");
    fs::write(&locked, "x").expect("locked");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    let sf = fx.mount("");
    // Root (e.g. in CI containers) can read it anyway; only assert when the
    // OS really refuses.
    if fs::File::open(&locked).is_err() {
        assert!(get(&sf, "/locked.txt").await.is_none());
    }
    // A FIFO must not be opened (that would block until a writer appears).
    let fifo = fx.root().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let resp = tokio::time::timeout(Duration::from_secs(5), get(&sf, "/pipe"))
            .await
            .expect("FIFO must not block");
        assert!(resp.is_none());
    }
}
