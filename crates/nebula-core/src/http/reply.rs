//! JSON error replies: what a client sees when something is wrong.
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::body::{full, Body};

use crate::kernel::error_body;
use crate::kernel::JSON_TYPE;

/// `{"error": <reason phrase>, "message": <detail>}` with the given status.
pub fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    json(status, error_body(status, message))
}

/// A JSON body with the given status.
pub fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut res = Response::new(full(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn error_body_names_status_and_message() {
        let res = json_error(StatusCode::PAYLOAD_TOO_LARGE, "body over 10 bytes");
        assert_eq!(res.status(), 413);
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["error"], "Payload Too Large");
        assert_eq!(v["message"], "body over 10 bytes");
    }
}
