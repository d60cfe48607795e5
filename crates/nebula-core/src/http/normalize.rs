//! One canonical form for request paths, applied once when a request comes
//! in, before anything matches it. Routes, mounts, built-ins, dynamic routes
//! (the gateway's, the script VM's), static files and JavaScript handlers all
//! see the same path, and the gateway forwards exactly the path it matched:
//! a worker that normalizes paths itself (most servers do) cannot be led to
//! a file outside the prefix its service is exposed under.
//!
//! The rules, in order (RFC 3986 §6.2.2):
//! 1. Percent-encoded *unreserved* characters (`A–Z a–z 0–9 - . _ ~`) are
//!    decoded (`%2e` → `.`, `%41` → `A`); every other escape stays encoded,
//!    its hex digits upper-cased (`%2f` → `%2F`). A `%` not followed by two
//!    hex digits is refused (400).
//! 2. Dot segments are removed as RFC 3986 §5.2.4 says (`/a/./b/../c` →
//!    `/a/c`), except that a `..` that would climb above the root is refused
//!    (400) instead of being dropped silently.
//! 3. `%2F` (an encoded `/`) is never decoded and never splits a segment: it
//!    stays inside one segment (a route parameter gets `a/b` from `a%2Fb`).
//!    The backslash is not a separator either. But a segment that would
//!    become a `.` or `..` segment if a later server took `%2F`, `%5C` or `\`
//!    for a separator (`..%2Fadmin`, `..\admin`) is refused (400): many
//!    servers decode the path before normalizing it, and no honest client
//!    sends such a segment.
//!
//! Empty segments (`//`) and the query are left as they are.
use std::borrow::Cow;
use std::fmt;

use hyper::http::uri::{PathAndQuery, Uri};

/// Why a request path is refused (the client gets 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A `..` segment above the root (`/../x`, `/a/../../x`).
    AboveRoot,
    /// A segment hiding `.`/`..` behind `%2F`, `%5C` or `\` (`..%2Fx`).
    HiddenDotSegment,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::BadEscape => {
                "the request path has a '%' that is not followed by two hex digits"
            }
            PathError::AboveRoot => "the request path climbs above the root with '..'",
            PathError::HiddenDotSegment => {
                "the request path has a '.' or '..' segment hidden behind an encoded slash (%2F), \
                 an encoded backslash (%5C) or a backslash"
            }
        })
    }
}

impl std::error::Error for PathError {}

/// The normalized form of `path` (see the module's rules). Borrowed, with
/// no work beyond one scan, for the ordinary path: no `%`, no `\`, no `.`
/// or `..` segment. A path that does not start with `/` (`*`, or the empty
/// path of an authority-form target) is returned as is.
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, PathError> {
    if !path.starts_with('/') || is_plain(path) {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode_unreserved(path)?;
    let normalized = remove_dot_segments(&decoded)?;
    if normalized.split('/').any(hides_dot_segment) {
        return Err(PathError::HiddenDotSegment);
    }
    Ok(if normalized == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(normalized)
    })
}

/// Rewrites `uri`'s path to its normalized form (the query is kept).
/// Returns false, leaving `uri` untouched, when nothing changes.
pub fn normalize_uri(uri: &mut Uri) -> Result<bool, PathError> {
    let normalized = match normalize_path(uri.path())? {
        Cow::Borrowed(_) => return Ok(false),
        Cow::Owned(p) => p,
    };
    let target = match uri.query() {
        Some(q) => format!("{normalized}?{q}"),
        None => normalized,
    };
    // Only characters that were already in the path, or unreserved ones
    // decoded from it, are in `target`: it parses. Checked anyway.
    let pq = PathAndQuery::from_maybe_shared(target).map_err(|_| PathError::BadEscape)?;
    let mut parts = std::mem::take(uri).into_parts();
    parts.path_and_query = Some(pq);
    *uri = Uri::from_parts(parts).map_err(|_| PathError::BadEscape)?;
    Ok(true)
}

/// No `%`, no `\` and no `.`/`..` segment: already in normal form.
fn is_plain(path: &str) -> bool {
    !path.bytes().any(|b| b == b'%' || b == b'\\')
        && !path.split('/').any(|seg| seg == "." || seg == "..")
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Rule 1: unreserved characters decoded, other escapes upper-cased.
fn decode_unreserved(path: &str) -> Result<String, PathError> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let (Some(hi), Some(lo)) = (
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) else {
            return Err(PathError::BadEscape);
        };
        let byte = hi * 16 + lo;
        if is_unreserved(byte) {
            out.push(byte);
        } else {
            out.push(b'%');
            out.push(bytes[i + 1].to_ascii_uppercase());
            out.push(bytes[i + 2].to_ascii_uppercase());
        }
        i += 3;
    }
    // Only ASCII sequences were replaced by ASCII bytes: still UTF-8.
    String::from_utf8(out).map_err(|_| PathError::BadEscape)
}

/// Rule 2: RFC 3986 §5.2.4 on an absolute path (starting with `/`), with a
/// `..` above the root refused. A final `.` or `..` leaves a trailing slash
/// (`/a/b/..` → `/a/`), as in the RFC.
fn remove_dot_segments(path: &str) -> Result<String, PathError> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let mut kept: Vec<&str> = Vec::new();
    let mut segments = rest.split('/').peekable();
    let mut trailing_slash = false;
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        match seg {
            "." => trailing_slash = last,
            ".." => {
                kept.pop().ok_or(PathError::AboveRoot)?;
                trailing_slash = last;
            }
            _ => kept.push(seg),
        }
    }
    let mut out = String::with_capacity(path.len());
    for seg in &kept {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Ok(out)
}

/// Rule 3: whether `seg`, split at `%2F`, `%5C` or `\`, has a `.` or `..`
/// piece. Escapes are upper-case by now (rule 1).
fn hides_dot_segment(seg: &str) -> bool {
    if !seg.contains('%') && !seg.contains('\\') {
        return false;
    }
    seg.replace("%2F", "/")
        .replace("%5C", "/")
        .split(['/', '\\'])
        .any(|piece| piece == "." || piece == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str) -> Result<String, PathError> {
        normalize_path(p).map(Cow::into_owned)
    }

    #[test]
    fn ordinary_paths_are_borrowed_unchanged() {
        for p in [
            "/",
            "/a",
            "/a/b/c",
            "/a/",
            "/a//b",
            "/.well-known/x",
            "/a.b/..c/c..",
            "*",
            "",
        ] {
            assert!(
                matches!(normalize_path(p), Ok(Cow::Borrowed(s)) if s == p),
                "{p}"
            );
        }
    }

    #[test]
    fn rfc3986_remove_dot_segments_examples() {
        // §5.2.4 and the absolute-path cases of §5.4.1 / §5.4.2.
        let cases = [
            ("/a/b/c/./../../g", "/a/g"),
            ("/b/c/./g", "/b/c/g"),
            ("/b/c/.", "/b/c/"),
            ("/b/c/./", "/b/c/"),
            ("/b/c/..", "/b/"),
            ("/b/c/../", "/b/"),
            ("/b/c/../g", "/b/g"),
            ("/b/c/../..", "/"),
            ("/b/c/../../", "/"),
            ("/b/c/../../g", "/g"),
            ("/./g", "/g"),
            ("/b/c/g.", "/b/c/g."),
            ("/b/c/.g", "/b/c/.g"),
            ("/b/c/g..", "/b/c/g.."),
            ("/b/c/..g", "/b/c/..g"),
            ("/b/c/./../g", "/b/g"),
            ("/b/c/./g/.", "/b/c/g/"),
            ("/b/c/g/./h", "/b/c/g/h"),
            ("/b/c/g/../h", "/b/c/h"),
            ("/b/c/g;x=1/./y", "/b/c/g;x=1/y"),
            ("/b/c/g;x=1/../y", "/b/c/y"),
            ("/.", "/"),
            ("/a/..", "/"),
            ("/a//../b", "/a/b"),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        // The RFC drops these `..` silently; a server must not guess.
        for p in [
            "/..",
            "/../",
            "/../g",
            "/./../g",
            "/a/../../g",
            "/%2e%2e/x",
            "/.%2E/x",
            "/a/%2E%2E/%2e%2e/x",
        ] {
            assert_eq!(norm(p), Err(PathError::AboveRoot), "{p}");
        }
    }

    #[test]
    fn encoded_dots_are_dot_segments() {
        let cases = [
            ("/pub/%2e%2e/admin/secret.txt", "/admin/secret.txt"),
            ("/pub/%2E%2E/admin/secret.txt", "/admin/secret.txt"),
            ("/pub/.%2e/admin/secret.txt", "/admin/secret.txt"),
            ("/pub/%2e./admin/secret.txt", "/admin/secret.txt"),
            ("/pub/%2e/x", "/pub/x"),
            ("/pub/%2eenv", "/pub/.env"),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_upper_cased() {
        assert_eq!(norm("/%61%62%7E%2D%5F").as_deref(), Ok("/ab~-_"));
        assert_eq!(norm("/a%2fb").as_deref(), Ok("/a%2Fb"));
        assert_eq!(norm("/caf%c3%a9").as_deref(), Ok("/caf%C3%A9"));
        assert_eq!(norm("/x%20y").as_deref(), Ok("/x%20y"));
        // Decoded once only: %25 is not unreserved, so %252e stays as is.
        assert_eq!(norm("/%252e%252e/x").as_deref(), Ok("/%252e%252e/x"));
        // Already normal: nothing is copied.
        assert!(matches!(normalize_path("/p/a%2Fb"), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn bad_escapes_are_refused() {
        for p in ["/%", "/a%2", "/%zz", "/%2g/x", "/a%"] {
            assert_eq!(norm(p), Err(PathError::BadEscape), "{p}");
        }
    }

    #[test]
    fn dot_segments_hidden_behind_slashes_or_backslashes_are_refused() {
        for p in [
            "/pub/..%2Fadmin/secret.txt",
            "/pub/..%2fadmin/secret.txt",
            "/pub/%2e%2e%2fadmin",
            "/pub/x%2F..%2F..%2Fadmin",
            "/pub/..%5Cadmin",
            "/pub/%5c..%5cadmin",
            "/pub/..\\admin",
            "/pub/a\\..\\..\\admin",
            "/pub/.%2F",
        ] {
            assert_eq!(norm(p), Err(PathError::HiddenDotSegment), "{p}");
        }
        // Slashes and backslashes next to ordinary names are fine.
        assert_eq!(norm("/p/a%2Fb").as_deref(), Ok("/p/a%2Fb"));
        assert_eq!(norm("/p/a\\b").as_deref(), Ok("/p/a\\b"));
        assert_eq!(norm("/p/..a%2F.b").as_deref(), Ok("/p/..a%2F.b"));
    }

    #[test]
    fn the_uri_is_rewritten_with_its_query() {
        let mut uri: Uri = "/pub/%2e%2e/x?a=%2e%2e&b=1".parse().unwrap();
        assert_eq!(normalize_uri(&mut uri), Ok(true));
        assert_eq!(uri.path_and_query().unwrap().as_str(), "/x?a=%2e%2e&b=1");
        let mut abs: Uri = "http://a.example/b/./c?q".parse().unwrap();
        assert_eq!(normalize_uri(&mut abs), Ok(true));
        assert_eq!(abs.to_string(), "http://a.example/b/c?q");
        let mut plain: Uri = "/a/b?x=1".parse().unwrap();
        assert_eq!(normalize_uri(&mut plain), Ok(false));
        assert_eq!(plain, "/a/b?x=1");
    }
}
