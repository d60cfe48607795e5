//! The parts of a request as validation reads them: the query as decoded
//! pairs, the headers by name, the body as JSON.
use std::borrow::Cow;

use bytes::Bytes;
use hyper::header::CONTENT_TYPE;
use hyper::HeaderMap;
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// The query of `target` (path and query) as decoded pairs, in order
/// (`application/x-www-form-urlencoded`: `+` is a space; bad UTF-8 is replaced).
pub fn query_pairs(target: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let Some((_, query)) = target.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['+', '%']) {
        return Cow::Borrowed(s);
    }
    let spaced = s.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

/// Each header once, its values joined by ", " (names lowercase, as received).
pub fn joined_headers(headers: &HeaderMap) -> Vec<(&str, String)> {
    headers
        .keys()
        .map(|name| {
            let mut text = String::new();
            for (i, v) in headers.get_all(name).iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                }
                text.push_str(&String::from_utf8_lossy(v.as_bytes()));
            }
            (name.as_str(), text)
        })
        .collect()
}

/// `application/json`, or any `…/…+json`, whatever its parameters.
pub fn is_json_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .rsplit_once('+')
            .is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json"))
}

/// The body as JSON, or why it is not: no JSON content type, empty, or not parseable.
pub fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, String> {
    let declared = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()));
    match declared.as_deref() {
        Some(t) if is_json_type(t) => {}
        Some(t) => {
            return Err(format!(
                "the body must be JSON (content-type: application/json), not {t}"
            ))
        }
        None if body.is_empty() => return Err("a JSON body is required".to_owned()),
        None => {
            return Err(
                "the body must be JSON: content-type application/json is missing".to_owned(),
            )
        }
    }
    if body.is_empty() {
        return Err("a JSON body is required".to_owned());
    }
    serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))
}
