//! The conformance suite: every case is a generic `fn case<R: Router +
//! Default>()`, instantiated as one `#[test]` per case for each router by
//! [`conformance!`]; `suite::<R>()` runs them all for a new implementation.
//! `random` cross-checks [`TrieRouter`] against [`LinearRouter`].
use super::linear::LinearRouter;
use super::trie::TrieRouter;
use super::{Lookup, Method, RouteError, Router};

mod matching;
mod methods;
mod precedence;
mod random;
mod syntax;

use matching::*;
use methods::*;
use precedence::*;
use syntax::*;

/// Defines `suite` and one test module per router with a test per case.
macro_rules! conformance {
    ($($case:ident),+ $(,)?) => {
        /// Runs every conformance case against `R`.
        fn suite<R: Router + Default>() {
            $($case::<R>();)+
        }
        conformance!(@router trie_router, TrieRouter; $($case),+);
        conformance!(@router linear_router, LinearRouter; $($case),+);
    };
    (@router $module:ident, $router:ident; $($case:ident),+) => {
        mod $module {
            type R = super::$router;
            $(
                #[test]
                fn $case() {
                    super::$case::<R>();
                }
            )+
            #[test]
            fn whole_suite() {
                super::suite::<R>();
            }
        }
    };
}

conformance! {
    // Pattern syntax.
    pattern_must_start_with_slash,
    param_name_rules,
    param_name_unique_in_pattern,
    wildcard_only_last,
    text_with_colon_or_star_is_static,
    empty_segment_rejected,
    failed_add_changes_nothing,
    // Path matching.
    root_and_trailing_slash,
    static_matches_raw_or_decoded,
    exact_static_beats_decoded_static,
    params_are_percent_decoded,
    encoded_slash_stays_in_one_segment,
    param_never_matches_empty_segment,
    wildcard_matches_zero_or_more,
    wildcard_value_is_decoded_rest,
    no_params_no_allocation,
    never_panics,
    // Precedence.
    static_beats_param_beats_wildcard,
    backtracking,
    leftmost_segment_decides,
    registration_order_irrelevant,
    param_names_belong_to_route,
    // Methods.
    duplicate_routes_rejected,
    method_not_allowed_lists_all_matching,
    allow_in_canonical_order,
    head_falls_back_to_get,
    method_filters_before_precedence,
    not_found,
}

/// Builds a router from `(method, pattern)` pairs; route `i` gets id `i`.
fn build<R: Router + Default>(routes: &[(Method, &str)]) -> R {
    let mut router = R::default();
    for (id, (method, pattern)) in routes.iter().enumerate() {
        if let Err(e) = router.add(method.clone(), pattern, id) {
            panic!("adding {method} {pattern}: {e}");
        }
    }
    router
}

/// Like [`build`], every route on GET.
fn build_get<R: Router + Default>(patterns: &[&str]) -> R {
    let routes: Vec<_> = patterns.iter().map(|p| (Method::GET, *p)).collect();
    build(&routes)
}

/// A method from its name.
fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("valid method name")
}

/// Asserts that `method path` finds route `id` with exactly `params`.
#[track_caller]
fn assert_found<R: Router>(
    router: &R,
    method: &Method,
    path: &str,
    id: usize,
    params: &[(&str, &str)],
) {
    match router.lookup(method, path) {
        Lookup::Found(m) => {
            let got: Vec<(&str, &str)> = m.params.iter().map(|(n, v)| (&**n, v.as_str())).collect();
            assert_eq!((m.id, got.as_slice()), (id, params), "{method} {path:?}");
        }
        other => panic!("{method} {path:?}: expected route {id}, got {other:?}"),
    }
}

/// [`assert_found`] for GET.
#[track_caller]
fn assert_get<R: Router>(router: &R, path: &str, id: usize, params: &[(&str, &str)]) {
    assert_found(router, &Method::GET, path, id, params);
}

/// Asserts that `method path` is a 404.
#[track_caller]
fn assert_not_found<R: Router>(router: &R, method: &Method, path: &str) {
    assert_eq!(
        router.lookup(method, path),
        Lookup::NotFound,
        "{method} {path:?}"
    );
}

/// Asserts that `method path` is a 405 with exactly `allow`.
#[track_caller]
fn assert_not_allowed<R: Router>(router: &R, method: &Method, path: &str, allow: &[&str]) {
    let allow: Vec<Method> = allow.iter().map(|m| self::method(m)).collect();
    assert_eq!(
        router.lookup(method, path),
        Lookup::MethodNotAllowed { allow },
        "{method} {path:?}"
    );
}

/// Asserts that adding `pattern` fails as an invalid pattern.
#[track_caller]
fn assert_invalid<R: Router + Default>(pattern: &str) {
    let mut router = R::default();
    match router.add(Method::GET, pattern, 0) {
        Err(RouteError::InvalidPattern { pattern: p, .. }) => assert_eq!(p, pattern),
        other => panic!("pattern {pattern:?}: expected InvalidPattern, got {other:?}"),
    }
}

#[test]
fn error_display_is_clear() {
    let mut router = TrieRouter::default();
    let message = |router: &mut TrieRouter, method: Method, pattern: &str| {
        let err = router
            .add(method, pattern, 0)
            .expect_err("route should be rejected");
        let as_error: &dyn std::error::Error = &err;
        as_error.to_string()
    };
    let cases = [
        (
            "/a/*/b",
            r#"invalid route path "/a/*/b": "*" is only allowed as the last segment"#,
        ),
        ("a/b", r#"invalid route path "a/b": must start with "/""#),
        (
            "/:a-b",
            r#"invalid route path "/:a-b": parameter name in ":a-b" must match [A-Za-z0-9_]+"#,
        ),
        (
            "/x/:",
            r#"invalid route path "/x/:": parameter name in ":" must match [A-Za-z0-9_]+"#,
        ),
        (
            "/:a/:a",
            r#"invalid route path "/:a/:a": parameter ":a" appears more than once"#,
        ),
        (
            "/a//b",
            r#"invalid route path "/a//b": empty segment (consecutive "/")"#,
        ),
    ];
    for (pattern, expected) in cases {
        assert_eq!(message(&mut router, Method::GET, pattern), expected);
    }
    router.add(Method::GET, "/a/:id", 0).expect("first add");
    assert_eq!(
        message(&mut router, Method::GET, "/a/:id"),
        "duplicate route GET /a/:id"
    );
    assert_eq!(
        message(&mut router, Method::GET, "/a/:other/"),
        "duplicate route GET /a/:other/"
    );
}
