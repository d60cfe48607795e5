//! JWT verification shared by the HTTP plugin (`plugins::jwt`) and the
//! WebSocket hub: no HTTP types here, only a token string in and the verified
//! claims (or the reason it was refused) out.
//!
//! One algorithm is pinned per verifier (HS256, RS256 or ES256): a token whose
//! header names another one (including `none`) is refused before any key is
//! used, and so is a token whose header has `crit` (no extension is
//! understood here, RFC 7515 §4.1.11). `exp` is required; `nbf` is checked when present; `iss` and `aud` are
//! required and checked when configured; a token that carries `aud` is refused
//! when no audience is configured (RFC 7519 §4.1.3). `iss` and `sub` must be
//! strings and `aud` a string or an array of strings when present, whatever
//! is configured (RFC 7519 §4.1). The decoding key and the
//! validation rules are built once; nothing is cached per token.
use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};

/// Longest token accepted (bytes): bounds the work a request can cause.
pub const MAX_TOKEN_LEN: usize = 8192;

/// Shortest HS256 secret accepted (bytes): RFC 7518 §3.2 asks for at least the hash size.
pub const MIN_SECRET_LEN: usize = 32;

/// Why a token was refused. `Display` gives a message safe to send to the
/// client (it never contains the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// No token at all.
    Missing,
    /// Credentials of another scheme than `Bearer`.
    NotBearer,
    /// Not three base64url parts with a JSON header and a JSON object payload.
    Malformed,
    /// Longer than [`MAX_TOKEN_LEN`].
    TooLarge,
    /// The header names another algorithm than the pinned one.
    WrongAlgorithm,
    /// The signature does not match.
    BadSignature,
    /// `exp` is past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// A required claim (`exp`, or `iss`/`aud` when configured) is absent.
    MissingClaim(&'static str),
    /// A claim of the wrong type: a time claim that is not a number of
    /// seconds, an `iss`/`sub` that is not a string, an `aud` that is neither
    /// a string nor an array of strings.
    InvalidClaim(&'static str),
    /// The header's `crit` names extensions (none is supported).
    UnsupportedCrit,
    /// The header's `crit` is not a non-empty list of unregistered names.
    InvalidCrit,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` names none of the configured audiences (or any, when none is configured).
    WrongAudience,
    /// The key could not be used (does not happen with a key accepted by [`JwtVerifier::new`]).
    Unverifiable,
}

impl JwtError {
    /// A short stable code (for logs and close reasons).
    pub fn code(&self) -> &'static str {
        match self {
            JwtError::Missing => "missing",
            JwtError::NotBearer => "not_bearer",
            JwtError::Malformed => "malformed",
            JwtError::TooLarge => "too_large",
            JwtError::WrongAlgorithm => "wrong_algorithm",
            JwtError::BadSignature => "bad_signature",
            JwtError::Expired => "expired",
            JwtError::NotYetValid => "not_yet_valid",
            JwtError::MissingClaim(_) => "missing_claim",
            JwtError::InvalidClaim(_) => "invalid_claim",
            JwtError::UnsupportedCrit => "unsupported_crit",
            JwtError::InvalidCrit => "invalid_crit",
            JwtError::WrongIssuer => "wrong_issuer",
            JwtError::WrongAudience => "wrong_audience",
            JwtError::Unverifiable => "unverifiable",
        }
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::Missing => f.write_str("missing bearer token"),
            JwtError::NotBearer => f.write_str("authorization scheme must be Bearer"),
            JwtError::Malformed => f.write_str("malformed token"),
            JwtError::TooLarge => write!(f, "token longer than {MAX_TOKEN_LEN} bytes"),
            JwtError::WrongAlgorithm => f.write_str("token algorithm not accepted"),
            JwtError::BadSignature => f.write_str("invalid token signature"),
            JwtError::Expired => f.write_str("token expired"),
            JwtError::NotYetValid => f.write_str("token not yet valid (nbf)"),
            JwtError::MissingClaim(c) => write!(f, "token has no {c} claim"),
            JwtError::InvalidClaim(c @ ("iss" | "sub")) => {
                write!(f, "token {c} claim must be a string")
            }
            JwtError::InvalidClaim("aud") => {
                f.write_str("token aud claim must be a string or an array of strings")
            }
            JwtError::InvalidClaim(c) => write!(f, "token {c} claim is not a valid number"),
            JwtError::UnsupportedCrit => {
                f.write_str("token header crit names extensions that are not supported")
            }
            JwtError::InvalidCrit => f.write_str(
                "token header crit is invalid (must be a non-empty array of extension names)",
            ),
            JwtError::WrongIssuer => f.write_str("token issuer not accepted"),
            JwtError::WrongAudience => f.write_str("token audience not accepted"),
            JwtError::Unverifiable => f.write_str("token could not be verified"),
        }
    }
}

impl std::error::Error for JwtError {}

/// The token of an `Authorization` header value: `Bearer <token>` (scheme
/// case-insensitive, surrounding spaces ignored).
pub fn bearer_token(header_value: &str) -> Result<&str, JwtError> {
    let value = header_value.trim();
    if value.is_empty() {
        return Err(JwtError::Missing);
    }
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(JwtError::NotBearer);
    }
    let token = rest.trim();
    if token.is_empty() {
        Err(JwtError::Missing)
    } else {
        Ok(token)
    }
}

/// Verifies tokens against one pinned algorithm and key.
pub struct JwtVerifier {
    algorithm: JwtAlgorithm,
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Builds the key and the validation rules once. Errors name the option.
    pub fn new(config: &JwtConfig) -> Result<JwtVerifier, JwtConfigError> {
        let alg = config.algorithm;
        let key = match alg {
            JwtAlgorithm::HS256 => {
                if config.public_key.is_some() {
                    return Err("jwt: publicKey is for RS256/ES256; HS256 uses secret".into());
                }
                let secret = config
                    .secret
                    .as_deref()
                    .ok_or("jwt: algorithm HS256 needs secret (a string)")?;
                if secret.len() < MIN_SECRET_LEN {
                    return Err(JwtConfigError::Key(format!(
                        "jwt: secret must be at least {MIN_SECRET_LEN} bytes for HS256"
                    )));
                }
                DecodingKey::from_secret(secret.as_bytes())
            }
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => {
                if config.secret.is_some() {
                    return Err(
                        format!("jwt: secret is for HS256; {} uses publicKey", alg.name()).into(),
                    );
                }
                let pem = config.public_key.as_deref().ok_or_else(|| {
                    format!("jwt: algorithm {} needs publicKey (PEM)", alg.name())
                })?;
                public_key(alg, pem)?
            }
        };
        let mut validation = Validation::new(alg.lib());
        validation.leeway = config.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        let mut required = vec!["exp"];
        if let Some(iss) = &config.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        if !config.audience.is_empty() {
            validation.set_audience(&config.audience);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        Ok(JwtVerifier {
            algorithm: alg,
            key,
            validation,
        })
    }

    /// The pinned algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Verifies `token` (without the `Bearer ` prefix); returns its claims
    /// (always a JSON object). The signature is checked before any claim, so
    /// a forged token is refused as such whatever its claims say.
    pub fn verify(&self, token: &str) -> Result<Value, JwtError> {
        if token.is_empty() {
            return Err(JwtError::Missing);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::TooLarge);
        }
        header::check(token, self.algorithm.name())?;
        match jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation) {
            Ok(data) => {
                claims::check_types(&data.claims)?;
                Ok(Value::Object(data.claims))
            }
            Err(e) => {
                let json = matches!(e.kind(), ErrorKind::Json(_));
                Err(claims::refine(token, map_error(e.kind()), json))
            }
        }
    }
}

fn claim_name(name: &str) -> &'static str {
    match name {
        "exp" => "exp",
        "nbf" => "nbf",
        "iss" => "iss",
        "aud" => "aud",
        "sub" => "sub",
        _ => "required",
    }
}

fn map_error(kind: &ErrorKind) -> JwtError {
    match kind {
        ErrorKind::InvalidSignature => JwtError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => JwtError::WrongAlgorithm,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidIssuer => JwtError::WrongIssuer,
        ErrorKind::InvalidAudience => JwtError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) => JwtError::MissingClaim(claim_name(c)),
        ErrorKind::InvalidClaimFormat(c) => JwtError::InvalidClaim(claim_name(c)),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => JwtError::Malformed,
        _ => JwtError::Unverifiable,
    }
}

/// The strings of claim `name`: a list of strings (other items ignored) or
/// one space-separated string (OAuth `scope` style).
pub fn claim_strings<'a>(claims: &'a Value, name: &str) -> Vec<&'a str> {
    match claims.get(name) {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split_ascii_whitespace().collect(),
        _ => Vec::new(),
    }
}

/// Whether claim `name` contains `wanted` (same forms as [`claim_strings`]),
/// without allocating.
pub fn claim_contains(claims: &Value, name: &str, wanted: &str) -> bool {
    match claims.get(name) {
        Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(wanted)),
        Some(Value::String(s)) => s.split_ascii_whitespace().any(|x| x == wanted),
        _ => false,
    }
}

mod claims;
mod config;
mod error;
mod header;
mod key;

pub use config::{JwtAlgorithm, JwtConfig, MAX_LEEWAY};
pub use error::JwtConfigError;
#[cfg(test)]
use key::b64url_decode;
use key::public_key;
pub use key::MIN_RSA_BITS;

#[cfg(test)]
pub(crate) mod test_keys;
#[cfg(test)]
mod tests;
