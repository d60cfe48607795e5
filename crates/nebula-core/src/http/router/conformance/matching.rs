//! Cases: how a single route matches a raw path.
use super::*;

pub(super) fn root_and_trailing_slash<R: Router + Default>() {
    let router: R = build_get(&["/", "/a/", "/b"]);
    assert_get(&router, "/", 0, &[]);
    assert_get(&router, "", 0, &[]);
    assert_get(&router, "/a", 1, &[]);
    assert_get(&router, "/a/", 1, &[]);
    assert_get(&router, "/b", 2, &[]);
    assert_get(&router, "/b/", 2, &[]);
    // Only one trailing slash is insignificant; "//" is one empty segment.
    for path in ["//", "/a//", "/b//", "//a", "a", "b/"] {
        assert_not_found(&router, &Method::GET, path);
    }
}

pub(super) fn static_matches_raw_or_decoded<R: Router + Default>() {
    let long = "b".repeat(300);
    let routes = ["/a", "/café", "/x/caf%C3%A9", &format!("/{long}")];
    let router: R = build_get(&routes);
    // The path segment is compared raw, then percent-decoded.
    assert_get(&router, "/%61", 0, &[]);
    assert_get(&router, "/%61/", 0, &[]);
    assert_get(&router, "/café", 1, &[]);
    assert_get(&router, "/caf%C3%A9", 1, &[]);
    assert_get(&router, "/caf%c3%a9", 1, &[]);
    // A pattern containing "%" is literal text: it matches that raw text,
    // or a path segment that decodes to it.
    assert_get(&router, "/x/caf%C3%A9", 2, &[]);
    assert_get(&router, "/x/caf%25C3%25A9", 2, &[]);
    // Static keys longer than the lookup's stack buffer.
    assert_get(&router, &format!("/{}", "%62".repeat(300)), 3, &[]);
    assert_get(&router, &format!("/{}b", "%62".repeat(299)), 3, &[]);
    let too_long = format!("/{}", "%62".repeat(301));
    let not_found = [
        "/A",
        "/%2561",
        "/x/café",
        "/x/caf%c3%a9",
        "/caf%C3",
        &too_long,
    ];
    for path in not_found {
        assert_not_found(&router, &Method::GET, path);
    }
}

pub(super) fn exact_static_beats_decoded_static<R: Router + Default>() {
    let router: R = build_get(&["/%61", "/a", "/%62/x", "/b/y"]);
    assert_get(&router, "/%61", 0, &[]);
    assert_get(&router, "/a", 1, &[]);
    // The exact match is tried first, with backtracking to the decoded one.
    assert_get(&router, "/%62/x", 2, &[]);
    assert_get(&router, "/%62/y", 3, &[]);
    assert_get(&router, "/b/y", 3, &[]);
    assert_not_found(&router, &Method::GET, "/b/x");
}

pub(super) fn params_are_percent_decoded<R: Router + Default>() {
    let router: R = build_get(&["/files/:name"]);
    let cases = [
        ("/files/a%20b", "a b"),
        ("/files/a+b", "a+b"),
        ("/files/%E2%82%AC", "€"),
        ("/files/caf%C3%A9", "café"),
        ("/files/café", "café"),
        ("/files/%FF", "\u{FFFD}"),
        ("/files/%zz", "%zz"),
        ("/files/%", "%"),
        ("/files/%25", "%"),
        ("/files/a:b", "a:b"),
        ("/files/*", "*"),
    ];
    for (path, value) in cases {
        assert_get(&router, path, 0, &[("name", value)]);
    }
}

pub(super) fn encoded_slash_stays_in_one_segment<R: Router + Default>() {
    let router: R = build_get(&["/files/:name", "/a/b", "/d/:dir/:name"]);
    assert_get(&router, "/files/a%2Fb", 0, &[("name", "a/b")]);
    assert_get(&router, "/files/a%2fb/", 0, &[("name", "a/b")]);
    assert_get(&router, "/d/x%2Fy/z", 2, &[("dir", "x/y"), ("name", "z")]);
    for path in ["/a%2Fb", "/files%2Fx", "/d/x%2Fy%2Fz"] {
        assert_not_found(&router, &Method::GET, path);
    }
}

pub(super) fn param_never_matches_empty_segment<R: Router + Default>() {
    let router: R = build_get(&["/u/:id", "/u/:id/x", "/:top"]);
    assert_get(&router, "/u/7", 0, &[("id", "7")]);
    assert_get(&router, "/u/7/x", 1, &[("id", "7")]);
    assert_get(&router, "/u", 2, &[("top", "u")]);
    assert_get(&router, "/u/", 2, &[("top", "u")]);
    for path in ["/u//", "/u//x", "/", "//", "//x"] {
        assert_not_found(&router, &Method::GET, path);
    }
    // A wildcard does match empty segments.
    let router: R = build_get(&["/u/:id/x", "/u/*"]);
    assert_get(&router, "/u//x", 1, &[("*", "/x")]);
}

pub(super) fn wildcard_matches_zero_or_more<R: Router + Default>() {
    let router: R = build_get(&["/static/*"]);
    let cases = [
        ("/static", ""),
        ("/static/", ""),
        ("/static/a", "a"),
        ("/static/a/", "a"),
        ("/static/a/b", "a/b"),
        ("/static/a/b/", "a/b"),
        ("/static//a", "/a"),
        ("/static/a//", "a/"),
        ("/static//", ""),
    ];
    for (path, rest) in cases {
        assert_get(&router, path, 0, &[("*", rest)]);
    }
    // The static segment before the wildcard may match decoded.
    assert_get(&router, "/%73tatic/x", 0, &[("*", "x")]);
    for path in ["/", "/staticx", "/x/static"] {
        assert_not_found(&router, &Method::GET, path);
    }
    let router: R = build_get(&["/*"]);
    assert_get(&router, "/", 0, &[("*", "")]);
    assert_get(&router, "", 0, &[("*", "")]);
    assert_get(&router, "//", 0, &[("*", "")]);
    assert_get(&router, "/a/b/c", 0, &[("*", "a/b/c")]);
}

pub(super) fn wildcard_value_is_decoded_rest<R: Router + Default>() {
    let router: R = build_get(&["/static/*", "/u/:id/*"]);
    assert_get(&router, "/static/a%20b/c%2Fd", 0, &[("*", "a b/c/d")]);
    assert_get(&router, "/static/%FF/%zz", 0, &[("*", "\u{FFFD}/%zz")]);
    assert_get(&router, "/u/%41/x/y", 1, &[("id", "A"), ("*", "x/y")]);
    assert_get(&router, "/u/%41", 1, &[("id", "A"), ("*", "")]);
}

pub(super) fn no_params_no_allocation<R: Router + Default>() {
    let router: R = build_get(&["/a/b", "/c/:x"]);
    match router.lookup(&Method::GET, "/a/b") {
        Lookup::Found(m) => {
            assert_eq!(m.id, 0);
            assert!(m.params.is_empty());
            assert_eq!(m.params.capacity(), 0, "no params, no allocation");
        }
        other => panic!("expected a match, got {other:?}"),
    }
    match router.lookup(&Method::GET, "/c/1") {
        Lookup::Found(m) => assert_eq!(m.param("x"), Some("1")),
        other => panic!("expected a match, got {other:?}"),
    }
}

pub(super) fn never_panics<R: Router + Default>() {
    let long_static = format!("/{}", "k".repeat(400));
    let router: R = build(&[
        (Method::GET, "/"),
        (Method::GET, "/a/:b/c"),
        (Method::POST, "/a/*"),
        (Method::GET, "/é/:x"),
        (Method::GET, &long_static),
        (method("PURGE"), "/:p/:q/*"),
    ]);
    let mut paths: Vec<String> = [
        "",
        "/",
        "//",
        "///",
        "%",
        "%zz",
        "/%zz",
        "/%",
        "/%%",
        "/%C3",
        "/%C3%28",
        "/é",
        "/é/%F0%9F%98%80",
        "/😀/😀/",
        "a",
        "*",
        "?",
        "/a?b",
        "/a/%00/c",
        "/\u{0}",
        "/a/ /c",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    paths.push("/a".repeat(10_000));
    paths.push("/".repeat(10_000));
    paths.push("/%".repeat(5_000));
    paths.push(format!("/{}", "x".repeat(100_000)));
    paths.push(format!("/{}", "%6B".repeat(50_000)));
    paths.push(format!("/{}", "%".repeat(1_000)));
    let methods = [Method::GET, Method::HEAD, Method::POST, method("PURGE")];
    for path in &paths {
        for m in &methods {
            let _ = router.lookup(m, path);
        }
    }
    assert_get(&router, &format!("/{}", "%6B".repeat(400)), 4, &[]);
}
