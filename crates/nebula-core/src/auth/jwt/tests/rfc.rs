//! RFC 7515 `crit` and RFC 7519 claim types (helpers in the parent module).
use super::*;

/// An HS256 token with exactly `header` (JSON text) and `claims`, well signed.
fn with_header(header: &str, claims: &Value) -> String {
    let msg = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &key, Algorithm::HS256).unwrap();
    format!("{msg}.{sig}")
}

#[test]
fn a_crit_extension_is_refused_as_not_understood() {
    let v = verifier(json!({}));
    // Control: the same token without crit verifies.
    assert!(v
        .verify(&with_header(r#"{"alg":"HS256","typ":"JWT"}"#, &valid()))
        .is_ok());
    for header in [
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        r#"{"alg":"HS256","crit":["urn:example:x","y"],"urn:example:x":1,"y":2}"#,
    ] {
        assert_eq!(
            v.verify(&with_header(header, &valid())),
            Err(JwtError::UnsupportedCrit),
            "{header}"
        );
    }
}

#[test]
fn a_malformed_crit_is_refused_as_invalid() {
    let v = verifier(json!({}));
    for header in [
        r#"{"alg":"HS256","crit":[]}"#,
        r#"{"alg":"HS256","crit":"exp"}"#,
        r#"{"alg":"HS256","crit":null}"#,
        r#"{"alg":"HS256","crit":[1]}"#,
        r#"{"alg":"HS256","crit":[""]}"#,
        r#"{"alg":"HS256","crit":{"exp":true}}"#,
        r#"{"alg":"HS256","crit":["alg"]}"#,
        r#"{"alg":"HS256","crit":["kid"],"kid":"k1"}"#,
        r#"{"alg":"HS256","crit":["x","typ"],"x":1}"#,
    ] {
        assert_eq!(
            v.verify(&with_header(header, &valid())),
            Err(JwtError::InvalidCrit),
            "{header}"
        );
    }
}

#[test]
fn a_header_that_is_not_an_object_is_malformed() {
    let v = verifier(json!({}));
    assert_eq!(
        v.verify(&with_header(r#"["HS256"]"#, &valid())),
        Err(JwtError::Malformed)
    );
}

#[test]
fn an_array_iss_is_not_a_string_or_uri() {
    let v = verifier(json!({ "issuer": "https://auth.example" }));
    // The library would take the array as "any of these" and accept it.
    let array = hs256(
        &json!({ "exp": now() + 60, "iss": ["https://evil.example", "https://auth.example"] }),
    );
    assert_eq!(v.verify(&array), Err(JwtError::InvalidClaim("iss")));
    let one = hs256(&json!({ "exp": now() + 60, "iss": ["https://auth.example"] }));
    assert_eq!(v.verify(&one), Err(JwtError::InvalidClaim("iss")));
    let number = hs256(&json!({ "exp": now() + 60, "iss": 7 }));
    assert_eq!(v.verify(&number), Err(JwtError::InvalidClaim("iss")));
    // No issuer configured: the claim's type is still checked.
    let any = verifier(json!({}));
    assert_eq!(any.verify(&array), Err(JwtError::InvalidClaim("iss")));
    assert_eq!(
        any.verify(&hs256(&json!({ "exp": now() + 60, "iss": null }))),
        Err(JwtError::InvalidClaim("iss"))
    );
}

#[test]
fn a_sub_that_is_not_a_string_is_refused() {
    let v = verifier(json!({}));
    for sub in [json!(42), json!(["u1"]), json!({ "id": 1 }), json!(null)] {
        let token = hs256(&json!({ "exp": now() + 60, "sub": sub }));
        assert_eq!(
            v.verify(&token),
            Err(JwtError::InvalidClaim("sub")),
            "{sub}"
        );
    }
}

#[test]
fn aud_is_a_string_or_an_array_of_strings() {
    let v = verifier(json!({ "audience": "api" }));
    for aud in [
        json!(1),
        json!(["api", 2]),
        json!({ "api": true }),
        json!(null),
    ] {
        let token = hs256(&json!({ "exp": now() + 60, "aud": aud }));
        assert_eq!(
            v.verify(&token),
            Err(JwtError::InvalidClaim("aud")),
            "{aud}"
        );
    }
    assert!(v
        .verify(&hs256(&json!({ "exp": now() + 60, "aud": ["api"] })))
        .is_ok());
    assert_eq!(
        v.verify(&hs256(&json!({ "exp": now() + 60, "aud": [] }))),
        Err(JwtError::WrongAudience)
    );
    // None configured: the library ignored an aud that is not text.
    let any = verifier(json!({}));
    for aud in [json!(1), json!([1]), json!(null)] {
        let token = hs256(&json!({ "exp": now() + 60, "aud": aud }));
        assert_eq!(
            any.verify(&token),
            Err(JwtError::InvalidClaim("aud")),
            "{aud}"
        );
    }
}

#[test]
fn claim_type_messages_name_the_claim() {
    assert_eq!(
        JwtError::InvalidClaim("iss").to_string(),
        "token iss claim must be a string"
    );
    assert!(JwtError::InvalidClaim("aud")
        .to_string()
        .contains("array of strings"));
    assert!(JwtError::UnsupportedCrit.to_string().contains("crit"));
    assert!(JwtError::InvalidCrit.to_string().contains("crit"));
}
