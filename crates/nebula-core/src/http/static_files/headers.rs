//! Response metadata for static files: validators (ETag, Last-Modified),
//! conditional-request evaluation, and Content-Type.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};
use hyper::HeaderMap;

/// A weak ETag derived from the file's size and modification time:
/// `W/"<len hex>-<mtime nanoseconds since the epoch, hex>"` (`0` when the
/// mtime is unavailable or before the epoch).
pub(super) fn etag(len: u64, mtime: Option<SystemTime>) -> String {
    let nanos = mtime
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("W/\"{len:x}-{nanos:x}\"")
}

/// Whether the request's conditional headers say the client's copy is
/// current, i.e. the answer is `304 Not Modified`.
///
/// `If-None-Match` (every header line, each a comma list; `*` matches any
/// existing file) is compared with the weak comparison function. Only when
/// it is absent is `If-Modified-Since` consulted, at one-second precision.
/// Unparseable headers never match.
pub(super) fn not_modified(headers: &HeaderMap, etag: &str, mtime: Option<SystemTime>) -> bool {
    let mut if_none_match = headers.get_all(IF_NONE_MATCH).iter().peekable();
    if if_none_match.peek().is_some() {
        return if_none_match
            .any(|value| value.to_str().is_ok_and(|list| none_match_hits(list, etag)));
    }
    let Some(mtime) = mtime.and_then(epoch_secs) else {
        return false;
    };
    let since = headers
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| httpdate::parse_http_date(s.trim()).ok())
        .and_then(epoch_secs);
    since.is_some_and(|since| mtime <= since)
}

fn epoch_secs(t: SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// Weak comparison: the opaque tags must be equal, `W/` is ignored on both
/// sides.
fn none_match_hits(list: &str, etag: &str) -> bool {
    let ours = opaque_tag(etag);
    list.split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .any(|tag| tag == "*" || opaque_tag(tag) == ours)
}

fn opaque_tag(tag: &str) -> &str {
    let tag = tag.trim();
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// The Content-Type for a file, guessed from its extension: `; charset=utf-8`
/// is added to `text/*`, JavaScript and JSON; unknown types are
/// `application/octet-stream`.
pub(super) fn content_type(path: &Path) -> String {
    let Some(mime) = mime_guess::from_path(path).first() else {
        return "application/octet-stream".to_owned();
    };
    let essence = mime.essence_str();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            essence,
            "application/javascript" | "application/x-javascript" | "application/json"
        );
    if textual {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;
    use std::time::Duration;

    fn with(name: hyper::header::HeaderName, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name.clone(), HeaderValue::from_str(v).expect("test header"));
        }
        h
    }

    #[test]
    fn etag_shape() {
        let t = UNIX_EPOCH + Duration::from_nanos(0x1234);
        assert_eq!(etag(255, Some(t)), "W/\"ff-1234\"");
        assert_eq!(etag(0, None), "W/\"0-0\"");
    }

    #[test]
    fn if_none_match_forms() {
        let tag = "W/\"ff-1234\"";
        let hit = |v: &[&str]| not_modified(&with(IF_NONE_MATCH, v), tag, None);
        assert!(hit(&["W/\"ff-1234\""]));
        assert!(hit(&["\"ff-1234\""]));
        assert!(hit(&["\"x\", W/\"ff-1234\""]));
        assert!(hit(&["\"x\"", "\"ff-1234\""]));
        assert!(hit(&["*"]));
        assert!(!hit(&["\"x\", \"y\""]));
        assert!(!hit(&[""]));
    }

    #[test]
    fn if_modified_since_precision_and_precedence() {
        let mtime = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let same_second = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let earlier = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1_600_000_000));
        assert!(not_modified(
            &with(IF_MODIFIED_SINCE, &[&same_second]),
            "W/\"a\"",
            Some(mtime)
        ));
        assert!(!not_modified(
            &with(IF_MODIFIED_SINCE, &[&earlier]),
            "W/\"a\"",
            Some(mtime)
        ));
        assert!(!not_modified(
            &with(IF_MODIFIED_SINCE, &["garbage"]),
            "W/\"a\"",
            Some(mtime)
        ));
        assert!(!not_modified(
            &with(IF_MODIFIED_SINCE, &[&same_second]),
            "W/\"a\"",
            None
        ));
        let mut both = with(IF_MODIFIED_SINCE, &[&same_second]);
        both.insert(IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!not_modified(&both, "W/\"a\"", Some(mtime)));
    }

    #[test]
    fn content_types() {
        let ct = |p: &str| content_type(Path::new(p));
        assert_eq!(ct("a.css"), "text/css; charset=utf-8");
        assert_eq!(ct("a.html"), "text/html; charset=utf-8");
        assert!(
            ct("a.js").ends_with("javascript; charset=utf-8"),
            "{}",
            ct("a.js")
        );
        assert_eq!(ct("a.json"), "application/json; charset=utf-8");
        assert_eq!(ct("a.png"), "image/png");
        assert_eq!(ct("a.unknownext"), "application/octet-stream");
        assert_eq!(ct("Makefile"), "application/octet-stream");
    }
}
