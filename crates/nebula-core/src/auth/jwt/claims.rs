//! The claim types RFC 7519 fixes and the library does not (fully) check:
//! `iss` and `sub` are a StringOrURI (one string), `aud` one string or an
//! array of strings. The library reads an array `iss` as "any of these" and
//! ignores an `aud` that is not text when no audience is configured.
use serde_json::{Map, Value};

use super::key::b64url_decode;
use super::JwtError;

/// Checks the types of the verified claims.
pub(super) fn check_types(claims: &Map<String, Value>) -> Result<(), JwtError> {
    for name in ["iss", "sub"] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return Err(JwtError::InvalidClaim(name));
        }
    }
    match claims.get("aud") {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(JwtError::InvalidClaim("aud")),
    }
}

/// A finer reason for some of the library's refusals (cold path, only the
/// message changes): a required `iss`/`aud` of the wrong type is reported as
/// missing, and a `sub` (or `iss`) that is an array or object makes the
/// library's claim parser fail as a whole (malformed). Claims are re-read
/// for the latter only when the header parses, so the signature was checked.
pub(super) fn refine(token: &str, err: JwtError, lib_json_error: bool) -> JwtError {
    match err {
        JwtError::MissingClaim(c @ ("iss" | "aud")) => match payload(token) {
            Some(claims) if claims.contains_key(c) => JwtError::InvalidClaim(c),
            _ => err,
        },
        JwtError::Malformed if lib_json_error && jsonwebtoken::decode_header(token).is_ok() => {
            match payload(token).map(|claims| check_types(&claims)) {
                Some(Err(finer)) => finer,
                _ => err,
            }
        }
        _ => err,
    }
}

fn payload(token: &str) -> Option<Map<String, Value>> {
    let part = token.split('.').nth(1)?;
    serde_json::from_slice(&b64url_decode(part.as_bytes())?).ok()
}
