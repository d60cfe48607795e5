//! Cases: choosing among several matching routes.
use super::*;

pub(super) fn static_beats_param_beats_wildcard<R: Router + Default>() {
    let router: R = build_get(&["/a/b", "/a/:x", "/a/*", "/*"]);
    assert_get(&router, "/a/b", 0, &[]);
    assert_get(&router, "/a/%62", 0, &[]);
    assert_get(&router, "/a/c", 1, &[("x", "c")]);
    assert_get(&router, "/a/b/c", 2, &[("*", "b/c")]);
    assert_get(&router, "/a", 2, &[("*", "")]);
    assert_get(&router, "/a/", 2, &[("*", "")]);
    assert_get(&router, "/b", 3, &[("*", "b")]);
    assert_get(&router, "/", 3, &[("*", "")]);
    // A route ending exactly at the path's end beats a wildcard matching
    // zero segments.
    let router: R = build_get(&["/s/*", "/s", "/p/*", "/p/:x"]);
    assert_get(&router, "/s", 1, &[]);
    assert_get(&router, "/s/x", 0, &[("*", "x")]);
    assert_get(&router, "/p", 2, &[("*", "")]);
    assert_get(&router, "/p/x", 3, &[("x", "x")]);
}

pub(super) fn backtracking<R: Router + Default>() {
    let router: R = build_get(&["/a/b/c", "/a/:x/d"]);
    assert_get(&router, "/a/b/c", 0, &[]);
    assert_get(&router, "/a/b/d", 1, &[("x", "b")]);
    assert_not_found(&router, &Method::GET, "/a/b/e");

    let router: R = build_get(&["/a/b/c/d", "/a/:x/c/e", "/*", "/a/b/:y/f"]);
    assert_get(&router, "/a/b/c/d", 0, &[]);
    assert_get(&router, "/a/b/c/e", 1, &[("x", "b")]);
    assert_get(&router, "/a/b/c/f", 3, &[("y", "c")]);
    assert_get(&router, "/a/b/c/g", 2, &[("*", "a/b/c/g")]);
    assert_get(&router, "/a/b/c", 2, &[("*", "a/b/c")]);
}

pub(super) fn leftmost_segment_decides<R: Router + Default>() {
    let router: R = build_get(&["/:x/b", "/a/*", "/:x/:y/c", "/a/:y/*"]);
    // "/a/:y/*" (wildcard matching nothing) beats "/a/*" at segment two.
    assert_get(&router, "/a/b", 3, &[("y", "b"), ("*", "")]);
    assert_get(&router, "/a", 1, &[("*", "")]);
    assert_get(&router, "/z/b", 0, &[("x", "z")]);
    assert_get(&router, "/a/b/c", 3, &[("y", "b"), ("*", "c")]);
    assert_get(&router, "/z/b/c", 2, &[("x", "z"), ("y", "b")]);
}

pub(super) fn registration_order_irrelevant<R: Router + Default>() {
    let routes: [(Method, &str); 9] = [
        (Method::GET, "/a/b/c"),
        (Method::GET, "/a/:x/d"),
        (Method::GET, "/a/*"),
        (Method::GET, "/:p/b/:q"),
        (Method::POST, "/a/:x/c"),
        (Method::GET, "/"),
        (Method::GET, "/*"),
        (Method::HEAD, "/a/b/:z"),
        (Method::GET, "/%61/b"),
    ];
    let paths = [
        "/", "/a", "/a/b", "/%61/b", "/a/b/c", "/a/b/d", "/a/x/d", "/z/b/q", "/a/b/q", "/a/b/c/d",
        "/q",
    ];
    let methods = [Method::GET, Method::HEAD, Method::POST, Method::PUT];
    let lookups = |order: &[usize]| {
        let mut router = R::default();
        for &i in order {
            let (m, p) = &routes[i];
            router.add(m.clone(), p, i).expect("valid route");
        }
        let mut out = Vec::new();
        for m in &methods {
            for p in paths {
                out.push(router.lookup(m, p));
            }
        }
        out
    };
    let forward: Vec<usize> = (0..routes.len()).collect();
    let expected = lookups(&forward);
    let mut order = forward.clone();
    order.reverse();
    assert_eq!(lookups(&order), expected, "reversed");
    for shift in 1..routes.len() {
        let mut order = forward.clone();
        order.rotate_left(shift);
        assert_eq!(lookups(&order), expected, "rotated by {shift}");
        order.swap(0, routes.len() - 1);
        assert_eq!(lookups(&order), expected, "rotated by {shift}, swapped");
    }
}

pub(super) fn param_names_belong_to_route<R: Router + Default>() {
    let router: R = build(&[
        (Method::GET, "/users/:id"),
        (Method::POST, "/users/:userId"),
        (Method::GET, "/users/:id/posts/:post"),
        (Method::POST, "/users/:uid/posts/*"),
        (Method::DELETE, "/users/:who/posts/:what"),
    ]);
    assert_get(&router, "/users/7", 0, &[("id", "7")]);
    assert_found(&router, &Method::HEAD, "/users/7", 0, &[("id", "7")]);
    assert_found(&router, &Method::POST, "/users/7", 1, &[("userId", "7")]);
    assert_get(
        &router,
        "/users/7/posts/9",
        2,
        &[("id", "7"), ("post", "9")],
    );
    let expected = [("uid", "7"), ("*", "9")];
    assert_found(&router, &Method::POST, "/users/7/posts/9", 3, &expected);
    let expected = [("who", "7"), ("what", "9")];
    assert_found(&router, &Method::DELETE, "/users/7/posts/9", 4, &expected);
}
