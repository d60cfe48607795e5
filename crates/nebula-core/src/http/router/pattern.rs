//! Pattern parsing and path splitting shared by both routers.
use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::RouteError;

/// One parsed pattern segment.
#[derive(Debug, Clone)]
pub(super) enum Seg {
    /// Literal text.
    Static(Box<str>),
    /// `:name`.
    Param(Arc<str>),
    /// `*` (always last).
    Wildcard,
}

impl Seg {
    /// Same shape: equal static text, or both params (names ignored), or
    /// both wildcards.
    fn same_shape(&self, other: &Seg) -> bool {
        match (self, other) {
            (Seg::Static(a), Seg::Static(b)) => a == b,
            (Seg::Param(_), Seg::Param(_)) | (Seg::Wildcard, Seg::Wildcard) => true,
            _ => false,
        }
    }
}

/// A validated, normalized pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    pub(super) segs: Vec<Seg>,
}

impl Pattern {
    /// Whether both patterns denote the same route (param names ignored).
    pub(super) fn same_shape(&self, other: &Pattern) -> bool {
        self.segs.len() == other.segs.len()
            && self
                .segs
                .iter()
                .zip(&other.segs)
                .all(|(a, b)| a.same_shape(b))
    }
}

/// The name under which the wildcard's value is reported.
pub(super) fn wildcard_name() -> Arc<str> {
    Arc::from("*")
}

/// Parses and validates `pattern`.
pub(super) fn parse(pattern: &str) -> Result<Pattern, RouteError> {
    let invalid = |reason: String| RouteError::InvalidPattern {
        pattern: pattern.to_owned(),
        reason,
    };
    if !pattern.starts_with('/') {
        return Err(invalid("must start with \"/\"".to_owned()));
    }
    let mut segs = Vec::new();
    let mut rest = split_rest(pattern).unwrap_or(None);
    while let Some(s) = rest {
        let (seg, next) = next_segment(s);
        rest = next;
        if seg.is_empty() {
            return Err(invalid("empty segment (consecutive \"/\")".to_owned()));
        }
        if seg == "*" {
            if rest.is_some() {
                return Err(invalid(
                    "\"*\" is only allowed as the last segment".to_owned(),
                ));
            }
            segs.push(Seg::Wildcard);
        } else if let Some(name) = seg.strip_prefix(':') {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(invalid(format!(
                    "parameter name in {seg:?} must match [A-Za-z0-9_]+"
                )));
            }
            let taken = segs
                .iter()
                .any(|s| matches!(s, Seg::Param(n) if &**n == name));
            if taken {
                return Err(invalid(format!(
                    "parameter \":{name}\" appears more than once"
                )));
            }
            segs.push(Seg::Param(Arc::from(name)));
        } else {
            segs.push(Seg::Static(Box::from(seg)));
        }
    }
    Ok(Pattern { segs })
}

/// Normalizes a raw path into its segment list, represented as the text
/// after the leading slash: `None` means zero segments, `Some(s)` means the
/// segments of `s.split('/')` (at least one, possibly empty). One trailing
/// slash is dropped. Returns `None` (outer) for a path not starting with `/`;
/// `""` counts as `/`.
pub(super) fn split_rest(path: &str) -> Option<Option<&str>> {
    if path.is_empty() {
        return Some(None);
    }
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(None);
    }
    Some(Some(rest.strip_suffix('/').unwrap_or(rest)))
}

/// Splits off the first segment of a non-empty segment list.
pub(super) fn next_segment(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((seg, rest)) => (seg, Some(rest)),
        None => (s, None),
    }
}

/// Percent-decodes `s`, replacing invalid UTF-8 lossily.
pub(super) fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}
