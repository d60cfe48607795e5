//! Compression: gzip / brotli for answers worth it, in Rust, on the way out.
//!
//! An answer is compressed when its body is at least `threshold` bytes, it
//! has no `Content-Encoding` yet, its status is not 1xx/204/206/304, its
//! `Content-Type` is compressible (see [`negotiate::compressible`]), it does
//! not carry `Cache-Control: no-transform`, and the client's
//! `Accept-Encoding` accepts one of `encodings`. Such an answer always gets
//! `Vary: Accept-Encoding` (appended), whether or not this client got it
//! compressed. A compressed body that is not smaller is not sent.
mod negotiate;

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{
    HeaderValue, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    ETAG,
};
use hyper::StatusCode;
use serde_json::{Map, Value};

use self::negotiate::Encoding;
use super::cors::append_vary;
use super::PluginError;
use crate::kernel::{LayerCtx, LayerError, NativeLayer, NativePlugin, Reply};

const KEYS: &[&str] = &["threshold", "encodings", "level"];
const DEFAULT_THRESHOLD: usize = 1024;
const DEFAULT_GZIP_LEVEL: u32 = 6;
const DEFAULT_BR_QUALITY: u32 = 4;

/// Creates the plugin from its plugin-level options (validated here too).
pub fn create(options: &Value) -> Result<Arc<dyn NativePlugin>, PluginError> {
    let default = Arc::new(CompressionLayer::parse(options)?);
    Ok(Arc::new(CompressionPlugin {
        options: options.clone(),
        default,
    }))
}

/// The layer for the plugin-level options, reused by every handler whose
/// merged options are the same.
struct CompressionPlugin {
    options: Value,
    default: Arc<CompressionLayer>,
}

impl NativePlugin for CompressionPlugin {
    fn layer(&self, options: &Value) -> Result<Option<Arc<dyn NativeLayer>>, LayerError> {
        if *options == self.options {
            return Ok(Some(self.default.clone()));
        }
        Ok(Some(Arc::new(CompressionLayer::parse(options)?)))
    }
}

/// One handler's compression settings.
#[derive(Debug)]
struct CompressionLayer {
    threshold: usize,
    /// Server preference order, no duplicates.
    encodings: Vec<Encoding>,
    gzip_level: u32,
    br_quality: u32,
}

impl CompressionLayer {
    fn parse(options: &Value) -> Result<Self, String> {
        let empty = Map::new();
        let map = match options {
            Value::Object(m) => m,
            Value::Null => &empty,
            _ => return Err("compression: options must be an object".into()),
        };
        if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!("compression: unknown option {k:?}"));
        }
        let threshold = match map.get("threshold") {
            None => DEFAULT_THRESHOLD,
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or("compression: threshold must be a non-negative integer (bytes)")?,
        };
        let encodings = match map.get("encodings") {
            None => vec![Encoding::Br, Encoding::Gzip],
            Some(v) => parse_encodings(v)?,
        };
        let (gzip_level, br_quality) = match map.get("level") {
            None => (DEFAULT_GZIP_LEVEL, DEFAULT_BR_QUALITY),
            Some(v) => match v.as_u64() {
                Some(n @ 1..=9) => (n as u32, n as u32),
                _ => return Err("compression: level must be an integer from 1 to 9".into()),
            },
        };
        Ok(CompressionLayer {
            threshold,
            encodings,
            gzip_level,
            br_quality,
        })
    }

    /// Whether this answer may be compressed at all (the client aside).
    fn eligible(&self, reply: &Reply) -> bool {
        let status = reply.status;
        !reply.body.is_empty()
            && reply.body.len() >= self.threshold
            && status.as_u16() >= 200
            && status != StatusCode::NO_CONTENT
            && status != StatusCode::PARTIAL_CONTENT
            && status != StatusCode::NOT_MODIFIED
            && !reply.headers.contains_key(CONTENT_ENCODING)
            && reply
                .headers
                .get(CONTENT_TYPE)
                .is_some_and(|ct| negotiate::compressible(ct.as_bytes()))
            && !reply.headers.get_all(CACHE_CONTROL).iter().any(|v| {
                v.as_bytes()
                    .split(|&b| b == b',')
                    .any(|d| d.trim_ascii().eq_ignore_ascii_case(b"no-transform"))
            })
    }
}

fn parse_encodings(v: &Value) -> Result<Vec<Encoding>, String> {
    let Value::Array(list) = v else {
        return Err("compression: encodings must be an array of \"br\" and/or \"gzip\"".into());
    };
    if list.is_empty() {
        return Err("compression: encodings must not be empty".into());
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let enc = item.as_str().and_then(Encoding::from_name).ok_or_else(|| {
            format!("compression: encodings[{i}] must be \"br\" or \"gzip\", got {item}")
        })?;
        if out.contains(&enc) {
            return Err(format!(
                "compression: encodings[{i}] repeats {:?}",
                enc.token()
            ));
        }
        out.push(enc);
    }
    Ok(out)
}

impl NativeLayer for CompressionLayer {
    fn name(&self) -> &'static str {
        "compression"
    }

    fn after(&self, ctx: &LayerCtx<'_>, reply: &mut Reply) {
        if !self.eligible(reply) {
            return;
        }
        append_vary(&mut reply.headers, "Accept-Encoding");
        let Some(accept) = ctx.headers.get(ACCEPT_ENCODING) else {
            return;
        };
        let Some(encoding) = negotiate::negotiate(accept.as_bytes(), &self.encodings) else {
            return;
        };
        let compressed = match encoding {
            Encoding::Gzip => gzip(&reply.body, self.gzip_level),
            Encoding::Br => brotli(&reply.body, self.br_quality),
        };
        let Some(compressed) = compressed.filter(|c| c.len() < reply.body.len()) else {
            return;
        };
        reply.body = Bytes::from(compressed);
        let h = &mut reply.headers;
        h.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
        // hyper sets the length of a full body itself.
        h.remove(CONTENT_LENGTH);
        // Another representation: a strong validator would be a lie.
        if let Some(etag) = h.get(ETAG) {
            if !etag.as_bytes().starts_with(b"W/") {
                let weak = [b"W/", etag.as_bytes()].concat();
                match HeaderValue::from_bytes(&weak) {
                    Ok(v) => h.insert(ETAG, v),
                    Err(_) => h.remove(ETAG),
                };
            }
        }
    }
}

/// gzip at `level` (1-9); None if the encoder failed (it does not on a Vec).
fn gzip(body: &[u8], level: u32) -> Option<Vec<u8>> {
    let out = Vec::with_capacity(body.len() / 3 + 64);
    let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::new(level));
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

/// brotli at `quality`, with a window no larger than the body needs (less
/// memory for small bodies).
fn brotli(body: &[u8], quality: u32) -> Option<Vec<u8>> {
    let bits = usize::BITS - body.len().saturating_sub(1).leading_zeros();
    let params = brotli::enc::BrotliEncoderParams {
        quality: quality as i32,
        lgwin: bits.clamp(10, 22) as i32,
        size_hint: body.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(body.len() / 3 + 64);
    brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests;
