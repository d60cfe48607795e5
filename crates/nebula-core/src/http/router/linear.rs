//! The reference router: a flat list of compiled patterns.
//!
//! Every lookup matches the path against every route, ranks each match by
//! the kind of match at each segment and keeps the best. It is deliberately
//! simple (and slow, O(routes)) so it can serve as an oracle for
//! [`TrieRouter`](super::trie::TrieRouter).
use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::pattern::{self, Pattern, Seg};
use super::{not_accepted, Lookup, Matched, Method, RouteError, Router};

/// Per-segment match kinds; a lower rank is a better match.
const EXACT_STATIC: u8 = 0;
const DECODED_STATIC: u8 = 1;
const PARAM: u8 = 2;
const WILDCARD: u8 = 3;

/// Captured `(name, value)` pairs.
type Params = Vec<(Arc<str>, String)>;

/// Naive list router. See the [module docs](super) for the semantics.
#[derive(Debug, Default)]
pub struct LinearRouter {
    routes: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    method: Method,
    pattern: Pattern,
    id: usize,
}

impl Router for LinearRouter {
    fn add(&mut self, method: Method, pattern: &str, id: usize) -> Result<(), RouteError> {
        let parsed = pattern::parse(pattern)?;
        if self
            .routes
            .iter()
            .any(|e| e.method == method && e.pattern.same_shape(&parsed))
        {
            return Err(RouteError::Duplicate {
                method,
                pattern: pattern.to_owned(),
            });
        }
        self.routes.push(Entry {
            method,
            pattern: parsed,
            id,
        });
        Ok(())
    }

    fn lookup(&self, method: &Method, path: &str) -> Lookup {
        let segments: Vec<&str> = match pattern::split_rest(path) {
            None => return Lookup::NotFound,
            Some(None) => Vec::new(),
            Some(Some(rest)) => rest.split('/').collect(),
        };
        let mut best: Option<(Vec<u8>, Matched)> = None;
        let mut methods = Vec::new();
        for entry in &self.routes {
            let Some((rank, params)) = match_pattern(&entry.pattern, &segments) else {
                continue;
            };
            methods.push(entry.method.clone());
            if !self.accepts(entry, method) {
                continue;
            }
            if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                best = Some((
                    rank,
                    Matched {
                        id: entry.id,
                        params,
                    },
                ));
            }
        }
        match best {
            Some((_, matched)) => Lookup::Found(matched),
            None => not_accepted(methods),
        }
    }
}

impl LinearRouter {
    /// Whether `entry` serves a `method` request: its own method, or GET for
    /// a HEAD request when no HEAD route has the same pattern.
    fn accepts(&self, entry: &Entry, method: &Method) -> bool {
        entry.method == *method
            || (*method == Method::HEAD
                && entry.method == Method::GET
                && !self
                    .routes
                    .iter()
                    .any(|e| e.method == Method::HEAD && e.pattern.same_shape(&entry.pattern)))
    }
}

/// Matches `pattern` against the path `segments`, returning the rank vector
/// (compared lexicographically, shorter prefix first) and the parameters.
fn match_pattern(pattern: &Pattern, segments: &[&str]) -> Option<(Vec<u8>, Params)> {
    let mut rank = Vec::with_capacity(pattern.segs.len());
    let mut params = Vec::new();
    for (i, seg) in pattern.segs.iter().enumerate() {
        match seg {
            Seg::Wildcard => {
                let rest = segments.get(i..).unwrap_or_default().join("/");
                rank.push(WILDCARD);
                params.push((pattern::wildcard_name(), pattern::decode(&rest)));
                return Some((rank, params));
            }
            Seg::Static(text) => {
                let actual = *segments.get(i)?;
                if actual == &**text {
                    rank.push(EXACT_STATIC);
                } else if percent_decode_str(actual).collect::<Vec<u8>>() == text.as_bytes() {
                    rank.push(DECODED_STATIC);
                } else {
                    return None;
                }
            }
            Seg::Param(name) => {
                let actual = *segments.get(i)?;
                if actual.is_empty() {
                    return None;
                }
                rank.push(PARAM);
                params.push((Arc::clone(name), pattern::decode(actual)));
            }
        }
    }
    (segments.len() == pattern.segs.len()).then_some((rank, params))
}
