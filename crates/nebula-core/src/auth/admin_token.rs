//! A static admin token checked against `Authorization: Bearer <token>`
//! (the hub's and the script VM's admin endpoints).
use hyper::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{HeaderMap, StatusCode};

use super::jwt::bearer_token;
use crate::kernel::Reply;

/// Compares without an early exit, so timing does not reveal the token.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request carries `Authorization: Bearer <token>`.
pub fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| bearer_token(v).ok())
        .is_some_and(|given| same(given.as_bytes(), token.as_bytes()))
}

/// The 401 for a request without the admin token.
pub fn unauthorized() -> Reply {
    let mut reply = Reply::error(
        StatusCode::UNAUTHORIZED,
        "admin token required (Authorization: Bearer <adminToken>)",
    );
    reply
        .headers
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }

    #[test]
    fn only_the_bearer_token_passes() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "secret-token"));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer secret-token"),
        );
        assert!(authorized(&h, "secret-token"));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic secret-token"),
        );
        assert!(!authorized(&h, "secret-token"));
        assert_eq!(unauthorized().status, StatusCode::UNAUTHORIZED);
    }
}
