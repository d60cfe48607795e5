//! Key material: PEM public keys checked once, and the base64url decoder.
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::{JwtAlgorithm, JwtConfigError};

/// Smallest RSA modulus accepted (bits): RFC 7518 §3.3.
pub const MIN_RSA_BITS: usize = 2048;

/// Decodes and checks a PEM public key for RS256/ES256.
pub(super) fn public_key(alg: JwtAlgorithm, pem: &str) -> Result<DecodingKey, JwtConfigError> {
    if pem.contains("PRIVATE KEY") {
        return Err(JwtConfigError::Key(
            "jwt: publicKey is a private key; give the public key (PEM)".into(),
        ));
    }
    let bad =
        |what: &str| JwtConfigError::Key(format!("jwt: publicKey is not {what} public key PEM"));
    match alg {
        JwtAlgorithm::RS256 => {
            let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| bad("an RSA"))?;
            // Parses the key (the library would only do it at the first token).
            let jwk =
                Jwk::from_decoding_key(&key, Some(Algorithm::RS256)).map_err(|_| bad("an RSA"))?;
            let bits = match &jwk.algorithm {
                AlgorithmParameters::RSA(rsa) => modulus_bits(&rsa.n),
                _ => 0,
            };
            if bits < MIN_RSA_BITS {
                return Err(JwtConfigError::Key(format!(
                    "jwt: publicKey RSA modulus must be at least {MIN_RSA_BITS} bits"
                )));
            }
            Ok(key)
        }
        JwtAlgorithm::ES256 => {
            let key = DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|_| bad("an EC P-256"))?;
            let jwk = Jwk::from_decoding_key(&key, Some(Algorithm::ES256))
                .map_err(|_| bad("an EC P-256"))?;
            match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {}
                _ => return Err(bad("an EC P-256")),
            }
            // Builds the library's verifier once: refuses a point that is not on the curve.
            jsonwebtoken::crypto::verify("AA", b"probe", &key, Algorithm::ES256)
                .map_err(|_| bad("an EC P-256"))?;
            Ok(key)
        }
        JwtAlgorithm::HS256 => Err("jwt: HS256 uses secret".into()),
    }
}

/// Bits of a base64url big-endian modulus (leading zero bytes ignored).
fn modulus_bits(n_b64: &str) -> usize {
    let bytes = b64url_decode(n_b64.as_bytes()).unwrap_or_default();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    match bytes.get(first) {
        Some(top) => (bytes.len() - first - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    }
}

/// Unpadded base64url (RFC 4648 §5), as JWTs use it.
pub(super) fn b64url_decode(input: &[u8]) -> Option<Vec<u8>> {
    if input.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
