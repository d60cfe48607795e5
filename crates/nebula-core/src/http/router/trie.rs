//! The production router: a trie with one level per path segment.
//!
//! Each node has static children (hash map), at most one parameter child and
//! a list of wildcard routes; routes ending at a node are stored on it with
//! their own parameter names. A lookup walks the path once, trying static,
//! then parameter, then wildcard at every level and backtracking only on
//! failure, so it costs O(path segments) in the common case and never
//! allocates except for the returned parameters.
use std::collections::HashMap;
use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::pattern::{self, Seg};
use super::{not_accepted, Lookup, Matched, Method, RouteError, Router};

/// Decoded static segments up to this length are looked up without
/// allocating; longer static keys fall back to a scan of the node's keys.
const DECODE_BUF: usize = 256;

/// Segment trie router. See the [module docs](super) for the semantics.
#[derive(Debug, Default)]
pub struct TrieRouter {
    root: Node,
}

#[derive(Debug, Default)]
struct Node {
    /// Children by static segment text.
    statics: HashMap<Box<str>, Node>,
    /// Length in bytes of the longest key in `statics`.
    max_static_len: usize,
    /// Child for a `:param` segment (names live on the routes).
    param: Option<Box<Node>>,
    /// Routes whose pattern ends at this node.
    routes: Vec<Route>,
    /// Routes whose pattern ends with `*` right after this node.
    wildcard: Vec<Route>,
}

#[derive(Debug)]
struct Route {
    method: Method,
    id: usize,
    /// Parameters in segment order (the wildcard last).
    slots: Box<[Slot]>,
}

#[derive(Debug)]
struct Slot {
    /// Index of the path segment this slot captures (from).
    index: usize,
    name: Arc<str>,
    wildcard: bool,
}

impl Router for TrieRouter {
    fn add(&mut self, method: Method, pattern: &str, id: usize) -> Result<(), RouteError> {
        let parsed = pattern::parse(pattern)?;
        let mut slots = Vec::new();
        let mut node = &mut self.root;
        let mut ends_in_wildcard = false;
        for (index, seg) in parsed.segs.into_iter().enumerate() {
            match seg {
                Seg::Static(text) => {
                    node.max_static_len = node.max_static_len.max(text.len());
                    node = node.statics.entry(text).or_default();
                }
                Seg::Param(name) => {
                    slots.push(Slot {
                        index,
                        name,
                        wildcard: false,
                    });
                    node = node.param.get_or_insert_with(Box::default);
                }
                Seg::Wildcard => {
                    slots.push(Slot {
                        index,
                        name: pattern::wildcard_name(),
                        wildcard: true,
                    });
                    ends_in_wildcard = true;
                }
            }
        }
        let routes = if ends_in_wildcard {
            &mut node.wildcard
        } else {
            &mut node.routes
        };
        if routes.iter().any(|r| r.method == method) {
            return Err(RouteError::Duplicate {
                method,
                pattern: pattern.to_owned(),
            });
        }
        routes.push(Route {
            method,
            id,
            slots: slots.into_boxed_slice(),
        });
        Ok(())
    }

    fn lookup(&self, method: &Method, path: &str) -> Lookup {
        let Some(rest) = pattern::split_rest(path) else {
            return Lookup::NotFound;
        };
        if let Some(route) = self.root.find(rest, method) {
            return Lookup::Found(route.matched(rest));
        }
        let mut methods = Vec::new();
        self.root.collect(rest, &mut methods);
        not_accepted(methods)
    }
}

impl Node {
    /// Best route under this node for the remaining segments `rest`.
    fn find<'a>(&'a self, rest: Option<&str>, method: &Method) -> Option<&'a Route> {
        match rest {
            Some(s) => {
                let (seg, next) = pattern::next_segment(s);
                if let Some(child) = self.statics.get(seg) {
                    if let Some(route) = child.find(next, method) {
                        return Some(route);
                    }
                }
                if let Some(child) = self.decoded_static(seg) {
                    if let Some(route) = child.find(next, method) {
                        return Some(route);
                    }
                }
                if let (false, Some(child)) = (seg.is_empty(), &self.param) {
                    if let Some(route) = child.find(next, method) {
                        return Some(route);
                    }
                }
            }
            None => {
                if let Some(route) = pick(&self.routes, method) {
                    return Some(route);
                }
            }
        }
        pick(&self.wildcard, method)
    }

    /// Pushes the methods of every route under this node matching `rest`.
    fn collect(&self, rest: Option<&str>, out: &mut Vec<Method>) {
        match rest {
            Some(s) => {
                let (seg, next) = pattern::next_segment(s);
                if let Some(child) = self.statics.get(seg) {
                    child.collect(next, out);
                }
                if let Some(child) = self.decoded_static(seg) {
                    child.collect(next, out);
                }
                if let (false, Some(child)) = (seg.is_empty(), &self.param) {
                    child.collect(next, out);
                }
            }
            None => out.extend(self.routes.iter().map(|r| r.method.clone())),
        }
        out.extend(self.wildcard.iter().map(|r| r.method.clone()));
    }

    /// The static child whose text equals the percent-decoded `seg`, when
    /// that differs from the raw `seg` (already tried). Does not allocate.
    fn decoded_static(&self, seg: &str) -> Option<&Node> {
        if self.statics.is_empty() || !seg.contains('%') {
            return None;
        }
        let limit = self.max_static_len;
        if limit > DECODE_BUF {
            return self
                .statics
                .iter()
                .find(|(key, _)| &***key != seg && percent_decode_str(seg).eq(key.bytes()))
                .map(|(_, child)| child);
        }
        let mut buf = [0u8; DECODE_BUF];
        let mut len = 0;
        for byte in percent_decode_str(seg) {
            // Longer than every key: nothing can match.
            let slot = buf.get_mut(len).filter(|_| len < limit)?;
            *slot = byte;
            len += 1;
        }
        let decoded = buf.get(..len)?;
        if decoded == seg.as_bytes() {
            return None;
        }
        let decoded = std::str::from_utf8(decoded).ok()?;
        self.statics.get(decoded)
    }
}

/// The route in `routes` accepting `method` (HEAD falls back to GET).
fn pick<'a>(routes: &'a [Route], method: &Method) -> Option<&'a Route> {
    routes.iter().find(|r| r.method == *method).or_else(|| {
        if *method == Method::HEAD {
            routes.iter().find(|r| r.method == Method::GET)
        } else {
            None
        }
    })
}

impl Route {
    /// Extracts this route's parameter values from the path it matched.
    fn matched(&self, rest: Option<&str>) -> Matched {
        let mut params = Vec::with_capacity(self.slots.len());
        let mut cur = rest;
        let mut at = 0;
        for slot in self.slots.iter() {
            while at < slot.index {
                cur = cur.and_then(|s| pattern::next_segment(s).1);
                at += 1;
            }
            let raw = match (slot.wildcard, cur) {
                (_, None) => "",
                (true, Some(s)) => s,
                (false, Some(s)) => pattern::next_segment(s).0,
            };
            params.push((Arc::clone(&slot.name), pattern::decode(raw)));
        }
        Matched {
            id: self.id,
            params,
        }
    }
}
