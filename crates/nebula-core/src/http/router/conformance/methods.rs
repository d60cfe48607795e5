//! Cases: methods, duplicates, 405 and HEAD.
use super::*;

pub(super) fn duplicate_routes_rejected<R: Router + Default>() {
    let mut router = R::default();
    let mut add = |m: Method, p: &str, id: usize| router.add(m, p, id);
    let duplicate = |m: Method, p: &str| {
        Err(RouteError::Duplicate {
            method: m,
            pattern: p.to_owned(),
        })
    };
    assert_eq!(add(Method::GET, "/a/:id", 0), Ok(()));
    assert_eq!(
        add(Method::GET, "/a/:id", 1),
        duplicate(Method::GET, "/a/:id")
    );
    assert_eq!(
        add(Method::GET, "/a/:b", 1),
        duplicate(Method::GET, "/a/:b")
    );
    assert_eq!(
        add(Method::GET, "/a/:id/", 1),
        duplicate(Method::GET, "/a/:id/")
    );
    assert_eq!(add(Method::POST, "/a/:other", 2), Ok(()));
    assert_eq!(add(Method::GET, "/a/*", 3), Ok(()));
    assert_eq!(add(Method::GET, "/a/b", 4), Ok(()));
    assert_eq!(add(Method::GET, "/a/", 5), Ok(()));
    assert_eq!(add(Method::GET, "/a", 6), duplicate(Method::GET, "/a"));
    assert_eq!(
        add(Method::GET, "/a/*/", 6),
        duplicate(Method::GET, "/a/*/")
    );
    assert_eq!(add(Method::GET, "/a/%62", 6), Ok(()));
    assert_eq!(add(method("PURGE"), "/a/b", 7), Ok(()));
    let purge = duplicate(method("PURGE"), "/a/b/");
    assert_eq!(add(method("PURGE"), "/a/b/", 8), purge);
    assert_eq!(add(Method::GET, "/", 9), Ok(()));
    assert_eq!(add(Method::GET, "/", 10), duplicate(Method::GET, "/"));
    // The first registration is kept.
    assert_get(&router, "/a/1", 0, &[("id", "1")]);
    assert_get(&router, "/a", 5, &[]);
    assert_get(&router, "/", 9, &[]);
    assert_found(&router, &method("PURGE"), "/a/b", 7, &[]);
}

pub(super) fn method_not_allowed_lists_all_matching<R: Router + Default>() {
    let router: R = build(&[
        (Method::POST, "/items/:id"),
        (Method::DELETE, "/items/*"),
        (Method::GET, "/items/special"),
        (method("PURGE"), "/items/:id"),
        (method("LINK"), "/*"),
        (Method::PUT, "/other"),
    ]);
    let all = ["GET", "HEAD", "POST", "DELETE", "LINK", "PURGE"];
    assert_not_allowed(&router, &Method::PUT, "/items/special", &all);
    let without_get = ["POST", "DELETE", "LINK", "PURGE"];
    assert_not_allowed(&router, &Method::PUT, "/items/x", &without_get);
    assert_not_allowed(&router, &Method::GET, "/other", &["PUT", "LINK"]);
    assert_not_allowed(&router, &Method::GET, "/items", &["DELETE", "LINK"]);
    assert_not_allowed(&router, &Method::HEAD, "/", &["LINK"]);
}

pub(super) fn allow_in_canonical_order<R: Router + Default>() {
    let names = [
        "TRACE", "ZED", "PATCH", "OPTIONS", "CONNECT", "PUT", "HEAD", "DELETE", "ABC", "POST",
        "GET",
    ];
    let routes: Vec<(Method, &str)> = names.iter().map(|n| (method(n), "/m")).collect();
    let router: R = build(&routes);
    let expected = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "ABC", "CONNECT", "TRACE",
        "ZED",
    ];
    assert_not_allowed(&router, &method("FOO"), "/m", &expected);
    // GET implies HEAD, listed once.
    let router: R = build(&[(Method::DELETE, "/g"), (Method::GET, "/g")]);
    assert_not_allowed(&router, &Method::PUT, "/g", &["GET", "HEAD", "DELETE"]);
}

pub(super) fn head_falls_back_to_get<R: Router + Default>() {
    let router: R = build(&[
        (Method::GET, "/a"),
        (Method::HEAD, "/b"),
        (Method::GET, "/b"),
        (Method::GET, "/c/d"),
        (Method::HEAD, "/c/:x"),
        (Method::HEAD, "/h"),
        (Method::GET, "/w/*"),
    ]);
    assert_found(&router, &Method::HEAD, "/a", 0, &[]);
    // An explicit HEAD route wins over GET on the same pattern.
    assert_found(&router, &Method::HEAD, "/b", 1, &[]);
    assert_get(&router, "/b", 2, &[]);
    // Path precedence is decided first: GET /c/d beats HEAD /c/:x.
    assert_found(&router, &Method::HEAD, "/c/d", 3, &[]);
    assert_found(&router, &Method::HEAD, "/c/e", 4, &[("x", "e")]);
    assert_found(&router, &Method::HEAD, "/w/x/y", 6, &[("*", "x/y")]);
    // There is no fallback the other way.
    assert_not_allowed(&router, &Method::GET, "/c/e", &["HEAD"]);
    assert_not_allowed(&router, &Method::GET, "/h", &["HEAD"]);
    assert_not_allowed(&router, &Method::POST, "/a", &["GET", "HEAD"]);
    assert_not_found(&router, &Method::HEAD, "/nope");
}

pub(super) fn method_filters_before_precedence<R: Router + Default>() {
    let router: R = build(&[
        (Method::GET, "/a/b"),
        (Method::POST, "/a/:x"),
        (Method::PUT, "/a/*"),
    ]);
    assert_get(&router, "/a/b", 0, &[]);
    assert_found(&router, &Method::POST, "/a/b", 1, &[("x", "b")]);
    assert_found(&router, &Method::PUT, "/a/b", 2, &[("*", "b")]);
    let all = ["GET", "HEAD", "POST", "PUT"];
    assert_not_allowed(&router, &Method::DELETE, "/a/b", &all);
    assert_not_allowed(&router, &Method::DELETE, "/a/c", &["POST", "PUT"]);
    assert_not_allowed(&router, &Method::POST, "/a/b/c", &["PUT"]);
}

pub(super) fn not_found<R: Router + Default>() {
    let empty = R::default();
    for m in [Method::GET, Method::HEAD, method("PURGE")] {
        for path in ["", "/", "/a", "//"] {
            assert_not_found(&empty, &m, path);
        }
    }
    let router: R = build(&[(Method::GET, "/a"), (Method::POST, "/b/:x")]);
    for m in [Method::GET, Method::HEAD, Method::POST, method("PURGE")] {
        for path in ["/", "/c", "/a/b", "/b", "/b/", "/b//", "/b/x/y", "a", "*"] {
            assert_not_found(&router, &m, path);
        }
    }
}
