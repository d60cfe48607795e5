//! Tests of the verifier: every error kind, each algorithm, the options.
use jsonwebtoken::{encode, get_current_timestamp, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::test_keys::*;
use super::*;

pub(crate) const SECRET: &str = "0123456789abcdef0123456789abcdef";

pub(crate) fn now() -> i64 {
    get_current_timestamp() as i64
}

/// Unpadded base64url.
pub(crate) fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub(crate) fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
}

pub(crate) fn sign(alg: Algorithm, claims: &Value, key: &EncodingKey) -> String {
    encode(&Header::new(alg), claims, key).unwrap()
}

fn rs256(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    sign(Algorithm::RS256, claims, &key)
}

fn es256(claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
    sign(Algorithm::ES256, claims, &key)
}

fn config(extra: Value) -> JwtConfig {
    let mut base = json!({ "algorithm": "HS256", "secret": SECRET });
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    JwtConfig::from_json(&base).unwrap()
}

fn verifier(extra: Value) -> JwtVerifier {
    JwtVerifier::new(&config(extra)).unwrap()
}

fn new_err(options: Value) -> String {
    match JwtConfig::from_json(&options).and_then(|c| JwtVerifier::new(&c)) {
        Ok(_) => panic!("accepted {options}"),
        Err(e) => e.to_string(),
    }
}

fn valid() -> Value {
    json!({ "sub": "u1", "exp": now() + 60 })
}

#[test]
fn hs256_token_gives_its_claims() {
    let v = verifier(json!({}));
    let claims = v.verify(&hs256(
        &json!({ "sub": "u1", "exp": now() + 60, "roles": ["a"] }),
    ));
    let claims = claims.unwrap();
    assert_eq!(claims["sub"], "u1");
    assert_eq!(claims["roles"], json!(["a"]));
    assert_eq!(v.algorithm(), JwtAlgorithm::HS256);
}

#[test]
fn rs256_and_es256_tokens_verify_with_their_public_keys() {
    let rs = verifier(json!({ "algorithm": "RS256", "secret": null, "publicKey": RSA_PUBLIC }));
    assert_eq!(rs.verify(&rs256(&valid())).unwrap()["sub"], "u1");
    let es = verifier(json!({ "algorithm": "ES256", "secret": null, "publicKey": EC_PUBLIC }));
    assert_eq!(es.verify(&es256(&valid())).unwrap()["sub"], "u1");
}

#[test]
fn another_key_is_a_bad_signature_for_each_algorithm() {
    let rs =
        verifier(json!({ "algorithm": "RS256", "secret": null, "publicKey": RSA_OTHER_PUBLIC }));
    assert_eq!(rs.verify(&rs256(&valid())), Err(JwtError::BadSignature));
    let es =
        verifier(json!({ "algorithm": "ES256", "secret": null, "publicKey": EC_OTHER_PUBLIC }));
    assert_eq!(es.verify(&es256(&valid())), Err(JwtError::BadSignature));
    let other = EncodingKey::from_secret(b"another secret, also 32 bytes long!");
    let token = sign(Algorithm::HS256, &valid(), &other);
    assert_eq!(
        verifier(json!({})).verify(&token),
        Err(JwtError::BadSignature)
    );
}

#[test]
fn a_tampered_payload_is_a_bad_signature() {
    let token = hs256(&valid());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = json!({ "sub": "admin", "exp": now() + 60 }).to_string();
    let token = format!("{}.{}.{}", parts[0], b64(forged.as_bytes()), parts[2]);
    assert_eq!(
        verifier(json!({})).verify(&token),
        Err(JwtError::BadSignature)
    );
}

#[test]
fn the_algorithm_is_pinned() {
    let v = verifier(json!({}));
    // Another HMAC size.
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    assert_eq!(
        v.verify(&sign(Algorithm::HS512, &valid(), &key)),
        Err(JwtError::WrongAlgorithm)
    );
    // An unsigned token.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(valid().to_string().as_bytes())
    );
    assert_eq!(v.verify(&none), Err(JwtError::WrongAlgorithm));
    // RS256 verifier, HS256 token signed with the public key as secret (key confusion).
    let rs = verifier(json!({ "algorithm": "RS256", "secret": null, "publicKey": RSA_PUBLIC }));
    let confused = sign(
        Algorithm::HS256,
        &valid(),
        &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()),
    );
    assert_eq!(rs.verify(&confused), Err(JwtError::WrongAlgorithm));
    // ES256 verifier, RS256 token.
    let es = verifier(json!({ "algorithm": "ES256", "secret": null, "publicKey": EC_PUBLIC }));
    assert_eq!(es.verify(&rs256(&valid())), Err(JwtError::WrongAlgorithm));
}

#[test]
fn malformed_tokens() {
    let v = verifier(json!({}));
    let good = hs256(&valid());
    let parts: Vec<&str> = good.split('.').collect();
    let header = parts[0];
    for bad in [
        "abc".to_string(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{good}.x"),
        format!("{}!.{}.{}", header, parts[1], parts[2]),
        format!("{}.{}.{}", b64(b"not json"), parts[1], parts[2]),
        format!("{}.{}.{}", b64(br#"{"typ":"JWT"}"#), parts[1], parts[2]),
    ] {
        assert_eq!(v.verify(&bad), Err(JwtError::Malformed), "{bad}");
    }
    // Well signed, but the payload is not a JSON object.
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let array = sign(Algorithm::HS256, &json!([1, 2]), &key);
    assert_eq!(v.verify(&array), Err(JwtError::Malformed));
    // Signed text that is not JSON at all.
    let msg = format!("{}.{}", header, b64(b"hello"));
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &key, Algorithm::HS256).unwrap();
    assert_eq!(v.verify(&format!("{msg}.{sig}")), Err(JwtError::Malformed));
}

#[test]
fn missing_and_too_large() {
    let v = verifier(json!({}));
    assert_eq!(v.verify(""), Err(JwtError::Missing));
    let huge = hs256(&json!({ "exp": now() + 60, "pad": "x".repeat(MAX_TOKEN_LEN) }));
    assert_eq!(v.verify(&huge), Err(JwtError::TooLarge));
}

#[test]
fn exp_is_required_and_checked_with_leeway() {
    let v = verifier(json!({}));
    assert_eq!(
        v.verify(&hs256(&json!({ "sub": "u" }))),
        Err(JwtError::MissingClaim("exp"))
    );
    assert_eq!(
        v.verify(&hs256(&json!({ "exp": "soon" }))),
        Err(JwtError::MissingClaim("exp"))
    );
    assert_eq!(
        v.verify(&hs256(&json!({ "exp": now() - 100 }))),
        Err(JwtError::Expired)
    );
    // Within the default leeway of 5 s.
    assert!(v.verify(&hs256(&json!({ "exp": now() - 2 }))).is_ok());
    let strict = verifier(json!({ "leeway": 0 }));
    assert_eq!(
        strict.verify(&hs256(&json!({ "exp": now() - 2 }))),
        Err(JwtError::Expired)
    );
}

#[test]
fn signature_is_checked_before_claims() {
    let other = EncodingKey::from_secret(b"another secret, also 32 bytes long!");
    let token = sign(Algorithm::HS256, &json!({ "exp": now() - 100 }), &other);
    assert_eq!(
        verifier(json!({})).verify(&token),
        Err(JwtError::BadSignature)
    );
}

#[test]
fn nbf_is_checked_when_present() {
    let v = verifier(json!({}));
    let future = hs256(&json!({ "exp": now() + 600, "nbf": now() + 100 }));
    assert_eq!(v.verify(&future), Err(JwtError::NotYetValid));
    assert!(v
        .verify(&hs256(&json!({ "exp": now() + 600, "nbf": now() + 2 })))
        .is_ok());
    let bad = hs256(&json!({ "exp": now() + 600, "nbf": "later" }));
    assert_eq!(v.verify(&bad), Err(JwtError::InvalidClaim("nbf")));
}

// More cases: claims and options.
mod more;
mod rfc;
