//! The reply a hook wrote (`e.json`, `e.string`, `e.html`, `e.setHeader`),
//! checked on its way into a [`Reply`].
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, StatusCode};

use crate::plugins::layer::Reply;

/// Builds the reply; a bad status is a 500, a bad header is skipped (and logged).
pub fn done_reply(status: u16, ctype: &str, body: String, headers_json: &str) -> Reply {
    let Ok(status) = StatusCode::from_u16(status) else {
        return Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the script answered with an invalid status",
        );
    };
    let mut headers = HeaderMap::new();
    if !ctype.is_empty() {
        if let Ok(v) = HeaderValue::from_str(ctype) {
            headers.insert(CONTENT_TYPE, v);
        }
    }
    let pairs: Vec<(String, String)> = serde_json::from_str(headers_json).unwrap_or_default();
    for (k, v) in pairs {
        match (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!(header = %k, "jsvm: a script set an invalid header; skipped"),
        }
    }
    Reply {
        status,
        headers,
        body: Bytes::from(body),
    }
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
    }
}
