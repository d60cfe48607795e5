//! The token's JOSE header, read before the library sees the token: the
//! pinned `alg`, and `crit` (RFC 7515 §4.1.11), which the library ignores.
use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::key::b64url_decode;
use super::JwtError;

/// Header parameters registered by RFC 7515/7516: `crit` may not name them
/// (they are understood by definition, so listing one is an error).
const REGISTERED: [&str; 13] = [
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc", "zip",
];

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    /// `Some(Null)` for `"crit": null` (present, and invalid), None when absent.
    #[serde(default, deserialize_with = "present")]
    crit: Option<Value>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Checks the header of `token`: three parts, a JSON object naming
/// `expected` as `alg`, and no `crit`. `none` and other algorithms are
/// reported as such, not as malformed.
///
/// `crit` lists extensions the recipient MUST understand or refuse the token;
/// this verifier implements none, so a token with a well-formed `crit` is
/// refused as unsupported, and a malformed one (not a list, empty, not
/// strings, or naming a registered parameter) as invalid.
pub(super) fn check(token: &str, expected: &str) -> Result<(), JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let json = b64url_decode(header.as_bytes()).ok_or(JwtError::Malformed)?;
    // serde would also read a struct from a JSON array; a header is an object.
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(JwtError::Malformed);
    }
    let header = serde_json::from_slice::<Header>(&json).map_err(|_| JwtError::Malformed)?;
    if header.alg != expected {
        return Err(JwtError::WrongAlgorithm);
    }
    match header.crit {
        None => Ok(()),
        Some(crit) if crit_is_valid(&crit) => Err(JwtError::UnsupportedCrit),
        Some(_) => Err(JwtError::InvalidCrit),
    }
}

fn crit_is_valid(crit: &Value) -> bool {
    match crit {
        Value::Array(names) if !names.is_empty() => names.iter().all(|n| {
            n.as_str()
                .is_some_and(|n| !n.is_empty() && !REGISTERED.contains(&n))
        }),
        _ => false,
    }
}
