//! Tests, continued (helpers in the parent module).
use super::*;

#[test]
fn issuer_is_required_and_checked_when_configured() {
    let v = verifier(json!({ "issuer": "https://auth.example" }));
    let ok = hs256(&json!({ "exp": now() + 60, "iss": "https://auth.example" }));
    assert!(v.verify(&ok).is_ok());
    let other = hs256(&json!({ "exp": now() + 60, "iss": "https://evil.example" }));
    assert_eq!(v.verify(&other), Err(JwtError::WrongIssuer));
    assert_eq!(
        v.verify(&hs256(&valid())),
        Err(JwtError::MissingClaim("iss"))
    );
    // Not configured: any issuer.
    assert!(verifier(json!({})).verify(&other).is_ok());
}

#[test]
fn audience_is_required_and_checked_when_configured() {
    let v = verifier(json!({ "audience": ["api", "admin"] }));
    assert!(v
        .verify(&hs256(&json!({ "exp": now() + 60, "aud": "api" })))
        .is_ok());
    assert!(v
        .verify(&hs256(&json!({ "exp": now() + 60, "aud": ["x", "admin"] })))
        .is_ok());
    let other = hs256(&json!({ "exp": now() + 60, "aud": "web" }));
    assert_eq!(v.verify(&other), Err(JwtError::WrongAudience));
    assert_eq!(
        v.verify(&hs256(&valid())),
        Err(JwtError::MissingClaim("aud"))
    );
    // A token for some audience is refused where none is configured.
    assert_eq!(
        verifier(json!({})).verify(&other),
        Err(JwtError::WrongAudience)
    );
    let single = verifier(json!({ "audience": "web" }));
    assert!(single.verify(&other).is_ok());
}

#[test]
fn option_errors_name_the_option() {
    let cases = [
        (json!(null), "algorithm"),
        (json!([]), "object"),
        (json!({ "secret": SECRET }), "algorithm is required"),
        (
            json!({ "algorithm": "HS512", "secret": SECRET }),
            "algorithm must be",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "audiance": "x" }),
            "unknown option \"audiance\"",
        ),
        (json!({ "algorithm": "HS256" }), "HS256 needs secret"),
        (
            json!({ "algorithm": "HS256", "secret": "short" }),
            "secret must be at least 32 bytes",
        ),
        (
            json!({ "algorithm": "HS256", "secret": 42 }),
            "secret must be a non-empty string",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "publicKey": RSA_PUBLIC }),
            "publicKey is for RS256/ES256",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "leeway": 301 }),
            "leeway",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "leeway": -1 }),
            "leeway",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "leeway": 1.5 }),
            "leeway",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "audience": [] }),
            "audience",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "audience": ["a", 1] }),
            "audience",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "issuer": "" }),
            "issuer",
        ),
        (
            json!({ "algorithm": "HS256", "secret": SECRET, "claimsRoles": 1 }),
            "claimsRoles",
        ),
        (
            json!({ "algorithm": "RS256" }),
            "algorithm RS256 needs publicKey (PEM)",
        ),
        (
            json!({ "algorithm": "ES256" }),
            "algorithm ES256 needs publicKey (PEM)",
        ),
        (
            json!({ "algorithm": "RS256", "publicKey": RSA_PUBLIC, "secret": SECRET }),
            "secret is for HS256",
        ),
        (
            json!({ "algorithm": "RS256", "publicKey": RSA_PRIVATE }),
            "private key",
        ),
        (
            json!({ "algorithm": "RS256", "publicKey": "not a pem" }),
            "not an RSA public key PEM",
        ),
        (
            json!({ "algorithm": "RS256", "publicKey": EC_PUBLIC }),
            "not an RSA public key PEM",
        ),
        (
            json!({ "algorithm": "RS256", "publicKey": RSA_1024_PUBLIC }),
            "at least 2048 bits",
        ),
        (
            json!({ "algorithm": "ES256", "publicKey": RSA_PUBLIC }),
            "not an EC P-256 public key PEM",
        ),
        (
            json!({ "algorithm": "ES256", "publicKey": EC_P384_PUBLIC }),
            "not an EC P-256 public key PEM",
        ),
    ];
    for (options, want) in cases {
        let err = new_err(options.clone());
        assert!(
            err.starts_with("jwt: ") && err.contains(want),
            "{options}: {err}"
        );
    }
}

#[test]
fn defaults() {
    let c = config(json!({}));
    assert_eq!(c.leeway, 5);
    assert_eq!(c.claims_permissions, "permissions");
    assert_eq!(c.claims_roles, "roles");
    assert!(c.audience.is_empty() && c.issuer.is_none());
}

#[test]
fn bearer_header_values() {
    assert_eq!(bearer_token("Bearer abc"), Ok("abc"));
    assert_eq!(bearer_token("bearer   abc  "), Ok("abc"));
    assert_eq!(bearer_token("BEARER\tabc"), Ok("abc"));
    assert_eq!(bearer_token(""), Err(JwtError::Missing));
    assert_eq!(bearer_token("Bearer"), Err(JwtError::Missing));
    assert_eq!(bearer_token("Bearer   "), Err(JwtError::Missing));
    assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), Err(JwtError::NotBearer));
    assert_eq!(bearer_token("Bearerabc"), Err(JwtError::NotBearer));
}

#[test]
fn claim_lists_and_scope_strings() {
    let claims = json!({ "permissions": ["read", 1, "write"], "scope": "a b  c", "n": 3 });
    assert_eq!(claim_strings(&claims, "permissions"), ["read", "write"]);
    assert_eq!(claim_strings(&claims, "scope"), ["a", "b", "c"]);
    assert!(claim_strings(&claims, "n").is_empty() && claim_strings(&claims, "x").is_empty());
    assert!(claim_contains(&claims, "permissions", "write"));
    assert!(claim_contains(&claims, "scope", "c"));
    assert!(!claim_contains(&claims, "scope", "a b"));
    assert!(!claim_contains(&claims, "n", "3"));
}

#[test]
fn messages_and_codes_are_distinct() {
    let all = [
        JwtError::Missing,
        JwtError::NotBearer,
        JwtError::Malformed,
        JwtError::TooLarge,
        JwtError::WrongAlgorithm,
        JwtError::BadSignature,
        JwtError::Expired,
        JwtError::NotYetValid,
        JwtError::MissingClaim("exp"),
        JwtError::InvalidClaim("nbf"),
        JwtError::InvalidClaim("iss"),
        JwtError::InvalidClaim("aud"),
        JwtError::UnsupportedCrit,
        JwtError::InvalidCrit,
        JwtError::WrongIssuer,
        JwtError::WrongAudience,
        JwtError::Unverifiable,
    ];
    let messages: std::collections::HashSet<String> = all.iter().map(|e| e.to_string()).collect();
    let codes: std::collections::HashSet<&str> = all.iter().map(|e| e.code()).collect();
    assert_eq!(messages.len(), all.len());
    // The claim's name is in the message, not in the code.
    assert_eq!(codes.len(), all.len() - 2);
}

#[test]
fn b64url_decoder_matches_the_encoder() {
    for len in 0..20 {
        let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        assert_eq!(b64url_decode(b64(&data).as_bytes()), Some(data));
    }
    assert_eq!(b64url_decode(b"a"), None);
    assert_eq!(b64url_decode(b"ab=="), None);
    assert_eq!(b64url_decode(b"a+b/"), None);
}
