//! When a route's reply may be served from or stored in the cache
//! (a shared cache in RFC 9111's sense, kept simple):
//!
//! - requests: GET and HEAD only (HEAD is answered from the GET entry, never
//!   stored); `Cache-Control: no-store` → neither served nor stored;
//!   `no-cache`, `max-age=0` or `Pragma: no-cache` → not served (the fresh
//!   reply is stored); `max-age=N` → only entries at most N seconds old;
//!   `Authorization` → only entries stored as `public`.
//! - replies: status 200 only; not with `Set-Cookie`, `Vary: *`, or
//!   `Cache-Control` `no-store`, `no-cache`, `private`; with `Authorization`
//!   on the request only when `public` or `s-maxage`; TTL = the route's ttl,
//!   lowered to `s-maxage` or else `max-age` when the reply sets one.
use hyper::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CACHE_CONTROL, PRAGMA, SET_COOKIE, VARY,
};
use hyper::{HeaderMap, Method, StatusCode};

use super::entry::StoredReply;

/// The Cache-Control directives the cache acts on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Directives {
    pub no_store: bool,
    pub no_cache: bool,
    pub private: bool,
    pub public: bool,
    /// Seconds; an unreadable value counts as 0.
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
}

/// Reads every `Cache-Control` header of `headers`.
pub fn directives(headers: &HeaderMap) -> Directives {
    let mut d = Directives::default();
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { continue };
        for item in split_list(text) {
            let (name, arg) = match item.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                None => (item.trim(), None),
            };
            if name.eq_ignore_ascii_case("no-store") {
                d.no_store = true;
            } else if name.eq_ignore_ascii_case("no-cache") {
                d.no_cache = true;
            } else if name.eq_ignore_ascii_case("private") {
                d.private = true;
            } else if name.eq_ignore_ascii_case("public") {
                d.public = true;
            } else if name.eq_ignore_ascii_case("max-age") {
                d.max_age = Some(delta_seconds(arg));
            } else if name.eq_ignore_ascii_case("s-maxage") {
                d.s_maxage = Some(delta_seconds(arg));
            }
        }
    }
    d
}

/// A delta-seconds argument: digits (too many saturate); anything else is 0.
fn delta_seconds(arg: Option<&str>) -> u64 {
    match arg {
        Some(a) if !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) => {
            a.parse().unwrap_or(u64::MAX)
        }
        _ => 0,
    }
}

/// Splits a comma-separated header list, keeping quoted strings whole.
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let mut quoted = false;
            let mut escaped = false;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if quoted => escaped = true,
                    '"' => quoted = !quoted,
                    ',' if !quoted => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let item = rest[..end].trim();
            rest = rest.get(end + 1..).unwrap_or("");
            if !item.is_empty() {
                return Some(item);
            }
        }
        None
    })
}

/// What a request allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPolicy {
    /// May be answered from the cache.
    pub lookup: bool,
    /// Its reply may be stored.
    pub store: bool,
    /// Oldest entry (seconds) the client accepts.
    pub max_age: Option<u64>,
    /// Carries `Authorization`.
    pub auth: bool,
}

/// The policy for a request, or None when the cache ignores it (not GET/HEAD).
pub fn request_policy(method: &Method, headers: &HeaderMap) -> Option<RequestPolicy> {
    let head = if method == Method::GET {
        false
    } else if method == Method::HEAD {
        true
    } else {
        return None;
    };
    let mut p = RequestPolicy {
        lookup: true,
        store: !head,
        max_age: None,
        auth: headers.contains_key(AUTHORIZATION),
    };
    if headers.contains_key(CACHE_CONTROL) {
        let d = directives(headers);
        if d.no_store {
            p.lookup = false;
            p.store = false;
        }
        if d.no_cache || d.max_age == Some(0) {
            p.lookup = false;
        }
        p.max_age = d.max_age;
    } else if headers.get_all(PRAGMA).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| split_list(s).any(|i| i.eq_ignore_ascii_case("no-cache")))
    }) {
        p.lookup = false;
    }
    Some(p)
}

/// Whether a stored reply may answer this request.
pub fn usable(
    stored: &StoredReply,
    policy: &RequestPolicy,
    age_s: u64,
    headers: &HeaderMap,
) -> bool {
    if policy.auth && !stored.public {
        return false;
    }
    if policy.max_age.is_some_and(|max| age_s > max) {
        return false;
    }
    stored
        .vary
        .iter()
        .all(|(name, values)| headers.get_all(name).iter().eq(values.iter()))
}

/// How a reply may be stored: its TTL (ms) and whether it is public, or None.
pub fn storable(
    status: StatusCode,
    headers: &HeaderMap,
    route_ttl_ms: u64,
    auth: bool,
) -> Option<(u64, bool)> {
    if status != StatusCode::OK || headers.contains_key(SET_COOKIE) {
        return None;
    }
    let d = directives(headers);
    if d.no_store || d.no_cache || d.private {
        return None;
    }
    let public = d.public || d.s_maxage.is_some();
    if auth && !public {
        return None;
    }
    let mut ttl = route_ttl_ms;
    if let Some(s) = d.s_maxage.or(d.max_age) {
        ttl = ttl.min(s.saturating_mul(1000));
    }
    (ttl > 0).then_some((ttl, public))
}

/// The request headers a reply varies on (None for `Vary: *`).
pub fn vary_names(reply: &HeaderMap) -> Option<Vec<HeaderName>> {
    let mut names = Vec::new();
    for value in reply.get_all(VARY) {
        let text = value.to_str().ok()?;
        for item in split_list(text) {
            if item == "*" {
                return None;
            }
            let name = HeaderName::from_bytes(item.as_bytes()).ok()?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Some(names)
}

/// The request's values of `names`.
pub fn vary_snapshot(
    names: Vec<HeaderName>,
    request: &HeaderMap,
) -> Vec<(HeaderName, Vec<HeaderValue>)> {
    names
        .into_iter()
        .map(|name| {
            let values = request.get_all(&name).iter().cloned().collect();
            (name, values)
        })
        .collect()
}
