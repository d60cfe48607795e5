//! Cases: pattern syntax and validation.
use super::*;

pub(super) fn pattern_must_start_with_slash<R: Router + Default>() {
    for pattern in ["", "a", "a/b", "*", ":id", " /a"] {
        assert_invalid::<R>(pattern);
    }
    let router: R = build_get(&["/", "/a"]);
    assert_get(&router, "/", 0, &[]);
    assert_get(&router, "/a", 1, &[]);
}

pub(super) fn param_name_rules<R: Router + Default>() {
    for pattern in [
        "/:", "/a/:", "/:a-b", "/:é", "/:a b", "/:a.b", "/::a", "/:*",
    ] {
        assert_invalid::<R>(pattern);
    }
    let router: R = build_get(&["/:A_z9", "/x/:_", "/y/:0"]);
    assert_get(&router, "/v", 0, &[("A_z9", "v")]);
    assert_get(&router, "/x/v", 1, &[("_", "v")]);
    assert_get(&router, "/y/v", 2, &[("0", "v")]);
}

pub(super) fn param_name_unique_in_pattern<R: Router + Default>() {
    assert_invalid::<R>("/:a/:a");
    assert_invalid::<R>("/:a/x/:a/");
    // Names are case-sensitive, so these are distinct.
    let router: R = build_get(&["/:a/:A"]);
    assert_get(&router, "/1/2", 0, &[("a", "1"), ("A", "2")]);
}

pub(super) fn wildcard_only_last<R: Router + Default>() {
    for pattern in ["/a/*/b", "/*/*", "/*/:x"] {
        assert_invalid::<R>(pattern);
    }
    let mut router = R::default();
    match router.add(Method::GET, "/a/*/b", 0) {
        Err(RouteError::InvalidPattern { reason, .. }) => {
            assert_eq!(reason, "\"*\" is only allowed as the last segment");
        }
        other => panic!("expected InvalidPattern, got {other:?}"),
    }
    // The trailing slash is insignificant, so "*" is still last here.
    let router: R = build_get(&["/s/*/"]);
    assert_get(&router, "/s/x/y", 0, &[("*", "x/y")]);
}

pub(super) fn text_with_colon_or_star_is_static<R: Router + Default>() {
    let router: R = build_get(&["/a:b", "/v*", "/*x", "/x/a:b:c"]);
    assert_get(&router, "/a:b", 0, &[]);
    assert_get(&router, "/v*", 1, &[]);
    assert_get(&router, "/*x", 2, &[]);
    assert_get(&router, "/x/a:b:c", 3, &[]);
    for path in ["/ab", "/a:c", "/v", "/vx", "/x", "/yx", "/x/a"] {
        assert_not_found(&router, &Method::GET, path);
    }
}

pub(super) fn empty_segment_rejected<R: Router + Default>() {
    for pattern in ["//", "/a//b", "//a", "/a//", "/a///"] {
        assert_invalid::<R>(pattern);
    }
}

pub(super) fn failed_add_changes_nothing<R: Router + Default>() {
    let mut router = R::default();
    assert!(router.add(Method::GET, "/a/*/b", 0).is_err());
    assert!(router.add(Method::GET, "/a/:x/:x", 1).is_err());
    assert!(router.add(Method::GET, "/b//c", 2).is_err());
    for path in ["/a", "/a/x", "/a/x/b", "/a/x/y", "/b", "/b/c"] {
        assert_not_found(&router, &Method::GET, path);
    }
    router.add(Method::GET, "/a/:x", 3).expect("valid route");
    assert!(router.add(Method::GET, "/a/:y", 4).is_err());
    assert_get(&router, "/a/1", 3, &[("x", "1")]);
}
