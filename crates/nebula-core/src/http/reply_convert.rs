//! A handler's answer on its way out: a [`JsResponse`] checked into a
//! [`Reply`] (status range, header validity, framing headers dropped), and a
//! [`Reply`] into the hyper response that is sent.
use std::borrow::Cow;

use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Response, StatusCode};

use super::body::{full, Body};
use super::dispatch::JsResponse;
use crate::kernel::Reply;

impl From<Reply> for Response<Body> {
    fn from(reply: Reply) -> Self {
        let body = match reply.stream.as_ref().and_then(|s| s.take()) {
            Some(stream) => http_body_util::Either::Right(stream),
            None => full(reply.body),
        };
        let mut res = Response::new(body);
        *res.status_mut() = reply.status;
        *res.headers_mut() = reply.headers;
        res
    }
}

/// A handler's answer as a [`Reply`]. A header that is not valid HTTP is
/// dropped rather than failing the whole response; a status outside 200–599
/// becomes 500.
pub fn into_reply(answer: JsResponse) -> Reply {
    let status = if (200..=599).contains(&answer.status) {
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        tracing::warn!(
            status = answer.status,
            "a handler answered with a status outside 200-599; sent 500"
        );
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let mut headers = HeaderMap::with_capacity(answer.headers.len());
    for (k, v) in answer.headers {
        if is_framing(&k) {
            // The body is complete in memory: hyper frames it. A copied
            // Content-Length or Transfer-Encoding would corrupt the connection.
            continue;
        }
        match (header_name(&k), header_value(v)) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!(header = %k, "dropped a response header that is not valid HTTP"),
        }
    }
    Reply {
        status,
        headers,
        body: answer.body,
        stream: answer.stream,
    }
}

fn header_name(name: &str) -> Result<HeaderName, hyper::header::InvalidHeaderName> {
    if name == "content-type" {
        return Ok(CONTENT_TYPE);
    }
    HeaderName::from_bytes(name.as_bytes())
}

/// A constant value (the common content types) is used as is, not copied.
fn header_value(
    value: Cow<'static, str>,
) -> Result<HeaderValue, hyper::header::InvalidHeaderValue> {
    match value {
        Cow::Borrowed(s) if s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) => {
            Ok(HeaderValue::from_static(s))
        }
        value => HeaderValue::from_str(&value),
    }
}

/// Headers that frame the connection: hyper writes them for a complete
/// body, so a handler's or a script's copy is dropped (a stray
/// `Content-Length` or `Transfer-Encoding` would corrupt the connection).
pub(crate) fn is_framing(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ]
    .iter()
    .any(|f| name.eq_ignore_ascii_case(f))
}

/// Builds the hyper response from a handler's answer.
pub fn into_response(answer: JsResponse) -> Response<Body> {
    into_reply(answer).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Streamed;
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use hyper::body::Frame;

    #[tokio::test]
    async fn a_streamed_answer_is_sent_as_its_chunks_without_a_length() {
        let frames = futures_util::stream::iter(
            [&b"{\"value\":1,\"done\":false}"[..], b"{\"done\":true}"]
                .map(|c| Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(c)))),
        );
        let body = http_body_util::StreamBody::new(frames).boxed_unsync();
        let res = into_response(JsResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/event-stream".into()),
                ("content-length".into(), "5".into()),
            ],
            body: Bytes::new(),
            stream: Some(Streamed::new(body)),
        });
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[CONTENT_TYPE], "text/event-stream");
        assert!(res.headers().get("content-length").is_none());
        let sent = res
            .into_body()
            .collect()
            .await
            .expect("the body")
            .to_bytes();
        assert_eq!(&sent[..], b"{\"value\":1,\"done\":false}{\"done\":true}");
    }
}
