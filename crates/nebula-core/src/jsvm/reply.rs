//! The reply a hook wrote (`e.json`, `e.string`, `e.html`, `e.setHeader`),
//! checked on its way into a [`Reply`].
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, StatusCode};

use crate::http::reply_convert::is_framing;
use crate::kernel::Reply;

/// Most headers a script may set on one reply (the prelude refuses more too).
pub const MAX_HEADERS: usize = 100;

/// Builds the reply. A status outside 200–599 is a 500 (logged); a bad or
/// framing header is skipped (logged); a content type set by `setHeader`
/// replaces the one `e.json`/`e.string`/`e.html` chose (one header, never
/// two); more than [`MAX_HEADERS`] headers is a 500.
pub fn done_reply(status: u16, ctype: &str, body: String, headers_json: &str) -> Reply {
    let status = match StatusCode::from_u16(status) {
        Ok(s) if (200..=599).contains(&status) => s,
        _ => {
            tracing::warn!(
                status,
                "jsvm: a script answered with a status outside 200-599; sent 500"
            );
            return Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the script answered with an invalid status",
            );
        }
    };
    // "[]": no header set (the prelude's reply for most hooks).
    let pairs: Vec<(String, String)> = match headers_json {
        "[]" => Vec::new(),
        json => match serde_json::from_str(json) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "jsvm: unreadable reply headers; none sent");
                Vec::new()
            }
        },
    };
    if pairs.len() > MAX_HEADERS {
        return too_many_headers();
    }
    let mut headers = HeaderMap::new();
    if !ctype.is_empty() {
        if let Ok(v) = content_type(ctype) {
            if headers.try_insert(CONTENT_TYPE, v).is_err() {
                return too_many_headers();
            }
        }
    }
    for (k, v) in pairs {
        if is_framing(&k) {
            tracing::warn!(header = %k, "jsvm: a script set a framing header; dropped");
            continue;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) else {
            tracing::warn!(header = %k, "jsvm: a script set an invalid header; skipped");
            continue;
        };
        let added = if name == CONTENT_TYPE {
            // The script's own content type replaces the default one (last wins).
            headers.try_insert(name, value).map(|_| ())
        } else {
            headers.try_append(name, value).map(|_| ())
        };
        if added.is_err() {
            return too_many_headers();
        }
    }
    Reply {
        status,
        headers,
        body: Bytes::from(body),
        stream: None,
    }
}

/// The content types of `e.json`, `e.string` and `e.html` without parsing
/// or allocating them again.
fn content_type(ctype: &str) -> Result<HeaderValue, hyper::header::InvalidHeaderValue> {
    const KNOWN: [&str; 3] = [
        "application/json; charset=utf-8",
        "text/plain; charset=utf-8",
        "text/html; charset=utf-8",
    ];
    match KNOWN.iter().find(|k| **k == ctype) {
        Some(k) => Ok(HeaderValue::from_static(k)),
        None => HeaderValue::from_str(ctype),
    }
}

fn too_many_headers() -> Reply {
    tracing::warn!("jsvm: a script set more than {MAX_HEADERS} response headers; sent 500");
    Reply::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("the script set more than {MAX_HEADERS} response headers"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_status_are_checked() {
        let r = done_reply(
            201,
            "text/plain",
            "hi".into(),
            r#"[["x-a","1"],["bad header","2"],["x-b","ok\n"]]"#,
        );
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.headers.get("x-a").map(|v| v.as_bytes()), Some(&b"1"[..]));
        assert_eq!(r.headers.len(), 2, "content-type and x-a only");
        assert_eq!(done_reply(42, "", String::new(), "[]").status, 500);
        assert_eq!(done_reply(101, "", String::new(), "[]").status, 500);
        assert_eq!(done_reply(199, "", String::new(), "[]").status, 500);
        assert_eq!(done_reply(600, "", String::new(), "[]").status, 500);
        assert_eq!(done_reply(599, "", String::new(), "[]").status, 599);
    }

    #[test]
    fn framing_headers_are_dropped_and_content_type_is_one_header() {
        let r = done_reply(
            200,
            "application/json",
            "{}".into(),
            r#"[["Content-Length","999"],["transfer-encoding","chunked"],["CONNECTION","close"],
                ["keep-alive","timeout=5"],["content-type","text/csv"],["Content-Type","text/x"],["x-ok","1"]]"#,
        );
        assert_eq!(r.status, 200);
        for h in [
            "content-length",
            "transfer-encoding",
            "connection",
            "keep-alive",
        ] {
            assert!(r.headers.get(h).is_none(), "{h} must be dropped");
        }
        let ct: Vec<_> = r.headers.get_all(CONTENT_TYPE).iter().collect();
        assert_eq!(
            ct,
            vec![&HeaderValue::from_static("text/x")],
            "one content type, the last"
        );
        assert!(r.headers.get("x-ok").is_some());
    }

    #[test]
    fn too_many_headers_is_a_500() {
        let many: Vec<(String, String)> =
            (0..1000).map(|i| (format!("x-h{i}"), "v".into())).collect();
        let json = serde_json::to_string(&many).expect("json");
        let r = done_reply(200, "", String::new(), &json);
        assert_eq!(r.status, 500);
        assert!(String::from_utf8_lossy(&r.body).contains("more than 100"));
        let ok: Vec<(String, String)> = (0..100).map(|i| (format!("x-h{i}"), "v".into())).collect();
        let json = serde_json::to_string(&ok).expect("json");
        assert_eq!(
            done_reply(200, "text/plain", String::new(), &json).status,
            200
        );
    }
}
