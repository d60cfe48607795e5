//! Who a request counts against: the client address, a header or a JWT claim,
//! hashed to 128 bits (no allocation per request).
use std::io::Write;
use std::net::IpAddr;

use hyper::header::HeaderName;
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_128_with_seed;

use crate::kernel::LayerCtx;

// One seed per kind of key, so a header value can never collide with an address.
const SEED_IPV4: u64 = 1;
const SEED_IPV6: u64 = 2;
const SEED_LOCAL: u64 = 3;
const SEED_HEADER: u64 = 4;
const SEED_CLAIM: u64 = 5;

/// The `key` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The client address (`ctx.peer`); IPv6 clients by their /64 network.
    Ip,
    /// A request header's value; the address when it is missing or empty.
    Header(HeaderName),
    /// A claim of the JWT layer's `user` local; the address when missing.
    Claim(String),
}

impl KeySource {
    /// Parses `"ip"`, `{ "header": name }` or `{ "claim": name }` (absent: `"ip"`).
    pub fn parse(value: Option<&Value>) -> Result<KeySource, String> {
        const EXPECTED: &str = r#"key must be "ip", { header: "<name>" } or { claim: "<name>" }"#;
        let obj = match value {
            None | Some(Value::Null) => return Ok(KeySource::Ip),
            Some(Value::String(s)) if s == "ip" => return Ok(KeySource::Ip),
            Some(Value::Object(obj)) if obj.len() == 1 => obj,
            Some(_) => return Err(EXPECTED.into()),
        };
        if let Some(header) = obj.get("header") {
            let name = header.as_str().unwrap_or_default();
            return HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map(KeySource::Header)
                .map_err(|_| format!("key.header must be a header name, got {header}"));
        }
        if let Some(claim) = obj.get("claim") {
            return match claim.as_str() {
                Some(name) if !name.is_empty() => Ok(KeySource::Claim(name.to_owned())),
                _ => Err(format!("key.claim must be a non-empty string, got {claim}")),
            };
        }
        Err(EXPECTED.into())
    }

    /// The request's key.
    pub fn key(&self, ctx: &LayerCtx<'_>) -> u128 {
        match self {
            KeySource::Ip => ip_key(ctx.peer),
            KeySource::Header(name) => match ctx.headers.get(name) {
                Some(v) if !v.is_empty() => xxh3_128_with_seed(v.as_bytes(), SEED_HEADER),
                _ => ip_key(ctx.peer),
            },
            KeySource::Claim(name) => {
                claim_key(ctx.locals, name).unwrap_or_else(|| ip_key(ctx.peer))
            }
        }
    }
}

/// The key of a client address: IPv4 (also when IPv4-mapped) by address,
/// IPv6 by its /64 (one subscriber's network: rotating addresses within it
/// does not buy a fresh quota), none (in-process requests) as "local".
pub fn ip_key(peer: Option<IpAddr>) -> u128 {
    match peer {
        Some(IpAddr::V4(v4)) => xxh3_128_with_seed(&v4.octets(), SEED_IPV4),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => xxh3_128_with_seed(&v4.octets(), SEED_IPV4),
            None => xxh3_128_with_seed(&v6.octets()[..8], SEED_IPV6),
        },
        None => xxh3_128_with_seed(b"local", SEED_LOCAL),
    }
}

/// The key of claim `name` of the `user` local (a string, or a number as its
/// decimal text); None when there is no such claim.
fn claim_key(locals: &[(String, Value)], name: &str) -> Option<u128> {
    let (_, user) = locals.iter().rev().find(|(k, _)| k == "user")?;
    match user.get(name)? {
        Value::String(s) if !s.is_empty() => Some(xxh3_128_with_seed(s.as_bytes(), SEED_CLAIM)),
        Value::Number(n) => {
            let mut buf = [0u8; 40];
            let mut out = &mut buf[..];
            write!(out, "{n}").ok()?;
            let len = 40 - out.len();
            Some(xxh3_128_with_seed(&buf[..len], SEED_CLAIM))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_key_option() {
        assert_eq!(KeySource::parse(None), Ok(KeySource::Ip));
        assert_eq!(KeySource::parse(Some(&json!("ip"))), Ok(KeySource::Ip));
        assert_eq!(
            KeySource::parse(Some(&json!({ "header": "X-Api-Key" }))),
            Ok(KeySource::Header(HeaderName::from_static("x-api-key")))
        );
        assert_eq!(
            KeySource::parse(Some(&json!({ "claim": "sub" }))),
            Ok(KeySource::Claim("sub".into()))
        );
        for bad in [
            json!("IP"),
            json!(3),
            json!({}),
            json!({ "header": "" }),
            json!({ "header": "a b" }),
            json!({ "header": 1 }),
            json!({ "claim": "" }),
            json!({ "cookie": "x" }),
            json!({ "header": "a", "claim": "b" }),
        ] {
            let err = KeySource::parse(Some(&bad)).unwrap_err();
            assert!(err.starts_with("key"), "{bad}: {err}");
        }
    }

    #[test]
    fn ip_keys() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(Some(v4)), ip_key(Some(mapped)));
        assert_ne!(ip_key(Some(v4)), ip_key(Some("10.0.0.2".parse().unwrap())));
        assert_eq!(ip_key(Some(a)), ip_key(Some(b)));
        assert_ne!(ip_key(Some(a)), ip_key(Some(c)));
        assert_ne!(ip_key(None), ip_key(Some(v4)));
    }

    #[test]
    fn claim_keys() {
        let locals = vec![(
            "user".to_string(),
            json!({ "sub": "alice", "id": 42, "admin": true }),
        )];
        assert_eq!(
            claim_key(&locals, "sub"),
            Some(xxh3_128_with_seed(b"alice", SEED_CLAIM))
        );
        assert_eq!(
            claim_key(&locals, "id"),
            Some(xxh3_128_with_seed(b"42", SEED_CLAIM))
        );
        assert_eq!(claim_key(&locals, "admin"), None);
        assert_eq!(claim_key(&locals, "missing"), None);
        assert_eq!(claim_key(&[], "sub"), None);
        let big = vec![("user".to_string(), json!({ "n": -1.5e300 }))];
        assert!(claim_key(&big, "n").is_some());
    }
}
