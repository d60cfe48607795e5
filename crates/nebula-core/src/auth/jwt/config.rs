//! The verifier's options, read from JSON (the plugin's and the hub's).
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::JwtConfigError;

/// Largest `leeway` accepted (seconds).
pub const MAX_LEEWAY: u64 = 300;

/// The signature algorithms a verifier can be pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    HS256,
    RS256,
    ES256,
}

impl JwtAlgorithm {
    /// The name used in a token's header and in the options.
    pub fn name(self) -> &'static str {
        match self {
            JwtAlgorithm::HS256 => "HS256",
            JwtAlgorithm::RS256 => "RS256",
            JwtAlgorithm::ES256 => "ES256",
        }
    }

    /// The library's algorithm.
    pub(crate) fn lib(self) -> Algorithm {
        match self {
            JwtAlgorithm::HS256 => Algorithm::HS256,
            JwtAlgorithm::RS256 => Algorithm::RS256,
            JwtAlgorithm::ES256 => Algorithm::ES256,
        }
    }
}

/// A verifier's configuration (the JSON options of the plugin and the hub).
#[derive(Debug, Clone, PartialEq)]
pub struct JwtConfig {
    pub algorithm: JwtAlgorithm,
    /// HS256 shared secret (UTF-8 bytes).
    pub secret: Option<String>,
    /// RS256/ES256 public key (PEM: `PUBLIC KEY`, or `RSA PUBLIC KEY` for RS256).
    pub public_key: Option<String>,
    /// Required `iss` value.
    pub issuer: Option<String>,
    /// Accepted `aud` values (a token must name at least one); empty: none configured.
    pub audience: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway: u64,
    /// The claim holding the caller's permissions (for callers that authorize).
    pub claims_permissions: String,
    /// The claim holding the caller's roles (for callers that authorize).
    pub claims_roles: String,
}

impl JwtConfig {
    /// Reads `{ algorithm, secret?, publicKey?, issuer?, audience?, leeway = 5,
    /// claimsPermissions = "permissions", claimsRoles = "roles" }`. Unknown keys
    /// are refused (a misspelt `audiance` must not silently disable a check).
    pub fn from_json(options: &Value) -> Result<JwtConfig, JwtConfigError> {
        let obj = match options {
            Value::Object(obj) => obj,
            Value::Null => return Err("jwt: options are required (at least algorithm)".into()),
            _ => return Err("jwt: options must be an object".into()),
        };
        const KNOWN: [&str; 8] = [
            "algorithm",
            "secret",
            "publicKey",
            "issuer",
            "audience",
            "leeway",
            "claimsPermissions",
            "claimsRoles",
        ];
        if let Some(key) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!("jwt: unknown option {key:?}").into());
        }
        let algorithm = match obj.get("algorithm") {
            Some(Value::String(s)) if s == "HS256" => JwtAlgorithm::HS256,
            Some(Value::String(s)) if s == "RS256" => JwtAlgorithm::RS256,
            Some(Value::String(s)) if s == "ES256" => JwtAlgorithm::ES256,
            None | Some(Value::Null) => {
                return Err("jwt: algorithm is required (\"HS256\", \"RS256\" or \"ES256\")".into())
            }
            Some(_) => {
                return Err("jwt: algorithm must be \"HS256\", \"RS256\" or \"ES256\"".into())
            }
        };
        let leeway = match obj.get("leeway") {
            None | Some(Value::Null) => 5,
            Some(v) => match v.as_u64() {
                Some(n) if n <= MAX_LEEWAY => n,
                _ => {
                    return Err(format!(
                        "jwt: leeway must be a whole number of seconds from 0 to {MAX_LEEWAY}"
                    )
                    .into())
                }
            },
        };
        let audience = match obj.get("audience") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    _ => {
                        Err("jwt: audience must be a non-empty string or a non-empty list of them")
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(
                    "jwt: audience must be a non-empty string or a non-empty list of them".into(),
                )
            }
        };
        Ok(JwtConfig {
            algorithm,
            secret: opt_string(obj, "secret")?,
            public_key: opt_string(obj, "publicKey")?,
            issuer: opt_string(obj, "issuer")?,
            audience,
            leeway,
            claims_permissions: opt_string(obj, "claimsPermissions")?
                .unwrap_or_else(|| "permissions".into()),
            claims_roles: opt_string(obj, "claimsRoles")?.unwrap_or_else(|| "roles".into()),
        })
    }
}

fn opt_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, JwtConfigError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(format!("jwt: {key} must be a non-empty string").into()),
    }
}
