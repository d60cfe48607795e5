//! Mount prefixes and request paths: normalisation, matching on a segment
//! boundary, and turning the raw (still percent-encoded) remainder of a
//! request path into a safe relative filesystem path.

use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// Characters allowed in a mount prefix besides ASCII letters and digits:
/// RFC 3986 `unreserved`, `sub-delims`, `:` and `@` — everything that may
/// appear unencoded in a path segment. `%` is deliberately excluded, since
/// prefixes are compared with the raw request path.
const PREFIX_PUNCT: &str = "-._~!$&'()*+,;=:@";

/// Normalises a mount prefix.
///
/// `""` and `"/"` become `""` (the root mount). Otherwise the result is
/// `"/seg/seg"`: one leading slash (added when missing), no trailing slash.
/// Empty segments, `.`/`..`, `%`, and anything that can't appear raw in a URL
/// path (whitespace, `?`, `#`, `\`, non-ASCII) are errors.
pub(super) fn normalize_prefix(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim_start_matches('/');
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    for seg in trimmed.split('/') {
        if seg.is_empty() {
            return Err(format!("prefix {raw:?} has an empty segment"));
        }
        if seg == "." || seg == ".." {
            return Err(format!("prefix {raw:?} contains a {seg:?} segment"));
        }
        if let Some(bad) = seg
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !PREFIX_PUNCT.contains(*c))
        {
            return Err(format!(
                "prefix {raw:?} contains {bad:?}, which is not allowed in a URL path prefix"
            ));
        }
    }
    Ok(format!("/{trimmed}"))
}

/// The remainder of `path` after `prefix` when the prefix matches on a
/// segment boundary: `"/static"` matches `"/static"` and `"/static/a.css"`
/// but not `"/staticx"`. The root prefix `""` matches every path.
pub(super) fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Turns the raw remainder of a request path (segments separated by `/`,
/// each still percent-encoded) into a relative path, or `None` when the
/// request must be refused.
///
/// Every segment is percent-decoded exactly once (so `%252e` becomes the
/// literal name `%2e`, never `.`). Empty segments (`a//b`, trailing `/`) are
/// skipped. A segment is refused when, decoded, it
/// - starts with `.` — this covers `.`, `..` and hidden dotfiles/dirs
///   (`.env`, `.git/…`), which are never served;
/// - contains `/`, `\`, NUL or any other control character (so `%2f`, `%5c`
///   and `%00` are refused);
/// - is not valid UTF-8;
/// - isn't a single plain path component on this platform (e.g. `C:` on
///   Windows).
///
/// A raw `\` anywhere in the remainder is refused too.
pub(super) fn relative_path(rest: &str) -> Option<PathBuf> {
    if rest.contains('\\') {
        return None;
    }
    let mut out = PathBuf::new();
    for raw in rest.split('/').filter(|s| !s.is_empty()) {
        let decoded = percent_decode_str(raw).decode_utf8().ok()?;
        if !segment_is_safe(&decoded) {
            return None;
        }
        out.push(decoded.as_ref());
    }
    Some(out)
}

fn segment_is_safe(seg: &str) -> bool {
    if seg.is_empty() || seg.starts_with('.') {
        return false;
    }
    if seg.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        return false;
    }
    let mut components = Path::new(seg).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_normalise() {
        assert_eq!(normalize_prefix("").as_deref(), Ok(""));
        assert_eq!(normalize_prefix("/").as_deref(), Ok(""));
        assert_eq!(normalize_prefix("/static").as_deref(), Ok("/static"));
        assert_eq!(normalize_prefix("/static/").as_deref(), Ok("/static"));
        assert_eq!(normalize_prefix("static").as_deref(), Ok("/static"));
        assert_eq!(normalize_prefix("/a/b-c_d.e").as_deref(), Ok("/a/b-c_d.e"));
        for bad in [
            "/a//b", "/a/../b", "/./a", "/a b", "/a?b", "/a#b", "/%2e", "/a\\b", "/é",
        ] {
            assert!(normalize_prefix(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn prefix_matches_on_segment_boundary() {
        assert_eq!(strip_prefix("/static/a.css", "/static"), Some("/a.css"));
        assert_eq!(strip_prefix("/static", "/static"), Some(""));
        assert_eq!(strip_prefix("/staticx/a.css", "/static"), None);
        assert_eq!(strip_prefix("/a.css", ""), Some("/a.css"));
    }

    #[test]
    fn segments_decode_once() {
        assert_eq!(
            relative_path("/a/b%20c.txt"),
            Some(PathBuf::from("a/b c.txt"))
        );
        assert_eq!(relative_path("//a///b/"), Some(PathBuf::from("a/b")));
        assert_eq!(relative_path(""), Some(PathBuf::new()));
        assert_eq!(
            relative_path("/%252e%252e/x"),
            Some(PathBuf::from("%2e%2e/x"))
        );
        for bad in [
            "/..",
            "/.",
            "/%2e%2e",
            "/%2E%2E",
            "/.%2e",
            "/a%2fb",
            "/a%5cb",
            "/a\\b",
            "/a%00",
            "/%ff",
            "/.env",
            "/a/.git/config",
        ] {
            assert_eq!(relative_path(bad), None, "{bad:?} should be refused");
        }
    }
}
