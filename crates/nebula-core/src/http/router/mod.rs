//! HTTP router: maps a `(method, raw path)` pair to a route id plus the
//! values captured by the route's parameters.
//!
//! Two implementations share one set of semantics, checked by a single
//! conformance suite:
//!
//! * [`trie::TrieRouter`] — the production router, a segment trie whose
//!   lookups cost O(path segments) in the common case;
//! * [`linear::LinearRouter`] — a naive reference that scores every route.
//!
//! # Patterns
//!
//! A pattern starts with `/` and is split on `/` into segments. One trailing
//! slash is insignificant (`/a/` is the same route as `/a`); `/` is the root.
//! Each segment is one of:
//!
//! * static text, compared with the path segment (see below). A segment that
//!   merely contains `:` or `*` (`a:b`, `v*`) is static text;
//! * `:name`, a parameter; `name` matches `[A-Za-z0-9_]+` and may appear only
//!   once per pattern. A parameter never matches an empty segment;
//! * `*`, a wildcard, allowed only as the last segment. It matches zero or
//!   more remaining segments and is exposed as the parameter named `"*"`.
//!
//! Empty segments inside a pattern (`/a//b`) are rejected.
//!
//! # Paths
//!
//! The path handed to [`Router::lookup`] is raw: no query string, not
//! percent-decoded. `""` is treated as `/`; any other path that does not
//! start with `/` is [`Lookup::NotFound`]. Exactly one trailing slash is
//! dropped (`/a/` is `/a`, `/a//` is `/a` followed by an empty segment, `//`
//! is a single empty segment, not the root).
//!
//! * A static pattern segment matches a path segment that is byte-for-byte
//!   equal to it, or whose percent-decoded bytes equal it (`/%61` matches
//!   `/a`, `/caf%C3%A9` matches `/café`). An encoded slash never splits a
//!   segment, so `/a%2Fb` does not match `/a/b`.
//! * Parameter values are percent-decoded (invalid UTF-8 is replaced
//!   lossily); `%2F` stays inside one value.
//! * The wildcard value is the rest of the path without its leading slash
//!   (and without the insignificant trailing slash), percent-decoded; `""`
//!   when it matched zero segments.
//!
//! # Precedence
//!
//! Among the routes that match the path *and* accept the method, the winner
//! is decided segment by segment from the left: an exact static match beats a
//! decoded static match, which beats a parameter, which beats a wildcard; a
//! route that ends at the path's end beats a wildcard matching zero segments.
//! Matching backtracks, and registration order never matters.
//!
//! # Methods
//!
//! Each `(method, pattern)` pair can be added once; patterns differing only in
//! parameter names are the same route ([`RouteError::Duplicate`]). A route
//! accepts its own method only, except that a `HEAD` request is accepted by a
//! `GET` route whose pattern has no `HEAD` route (path precedence still
//! decides first, so `HEAD /a/b` prefers `GET /a/b` over `HEAD /a/:x`).
//! When no route accepts the method but some match the path, the result is
//! [`Lookup::MethodNotAllowed`] listing the methods of all those routes.
pub use hyper::Method;

use std::fmt;
use std::sync::Arc;

pub mod linear;
mod pattern;
pub mod trie;

#[cfg(test)]
mod conformance;

/// A successful lookup: the route's id and its captured parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The id given to [`Router::add`].
    pub id: usize,
    /// `(name, percent-decoded value)` in pattern order; the wildcard, if
    /// any, comes last under the name `"*"`. Empty (and unallocated) for
    /// routes without parameters.
    pub params: Vec<(Arc<str>, String)>,
}

impl Matched {
    /// The value of the parameter `name` (`"*"` for the wildcard).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The outcome of [`Router::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A route matched the path and accepts the method.
    Found(Matched),
    /// Routes match the path, none for this method. `allow` is deduplicated,
    /// in canonical order (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, then
    /// others alphabetically) and lists HEAD whenever it lists GET.
    MethodNotAllowed {
        /// Value for the `Allow` response header.
        allow: Vec<Method>,
    },
    /// No route matches the path.
    NotFound,
}

/// Why [`Router::add`] refused a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The pattern is malformed; `reason` says how.
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// Human-readable explanation.
        reason: String,
    },
    /// The same method and (normalized) pattern was already added.
    Duplicate {
        /// The method of the rejected route.
        method: Method,
        /// The pattern as given.
        pattern: String,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::InvalidPattern { pattern, reason } => {
                write!(f, "invalid route path {pattern:?}: {reason}")
            }
            RouteError::Duplicate { method, pattern } => {
                write!(f, "duplicate route {method} {pattern}")
            }
        }
    }
}

impl std::error::Error for RouteError {}

/// A route table: patterns are added up front, then looked up per request.
pub trait Router: Send + Sync {
    /// Registers `pattern` for `method` under `id`. Fails on a malformed
    /// pattern or a duplicate `(method, pattern)`; on failure the router is
    /// left unchanged.
    fn add(&mut self, method: Method, pattern: &str, id: usize) -> Result<(), RouteError>;

    /// Finds the best route for `method` and the raw `path` (no query).
    fn lookup(&self, method: &Method, path: &str) -> Lookup;
}

/// Sort key of the canonical `Allow` order.
fn method_rank(m: &Method) -> u8 {
    match *m {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::PATCH => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Turns the methods of all path-matching routes into an `Allow` list:
/// adds HEAD when GET is present, sorts canonically, deduplicates.
pub(crate) fn allow_list(mut methods: Vec<Method>) -> Vec<Method> {
    if methods.contains(&Method::GET) {
        methods.push(Method::HEAD);
    }
    methods.sort_by(|a, b| {
        method_rank(a)
            .cmp(&method_rank(b))
            .then_with(|| a.as_str().cmp(b.as_str()))
    });
    methods.dedup();
    methods
}

/// Builds the lookup result for a path that no route accepted.
fn not_accepted(methods: Vec<Method>) -> Lookup {
    if methods.is_empty() {
        Lookup::NotFound
    } else {
        Lookup::MethodNotAllowed {
            allow: allow_list(methods),
        }
    }
}
