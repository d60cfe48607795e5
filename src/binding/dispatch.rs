//! Requests on their way to the JS thread, packed for one crossing. They
//! wait in the app's request queue (`nebula_core::app::requests`) until
//! `NativeEngine::take_batch` takes a batch after one wake-up.
use napi::bindgen_prelude::*;

use nebula_core::http::{AnswerHeader, JsRequest};

/// `[name, value, name, value, …]`, names lowercase as HTTP/1 delivers them.
pub(super) fn flat_headers(headers: &hyper::HeaderMap) -> Vec<String> {
    let mut flat = Vec::with_capacity(headers.len() * 2);
    for (k, v) in headers {
        flat.push(k.as_str().to_owned());
        flat.push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    flat
}

/// The inverse of [`flat_headers`]; a trailing name without a value is ignored.
pub(super) fn header_pairs(flat: Vec<String>) -> Vec<AnswerHeader> {
    let mut pairs = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k.into(), v.into()));
    }
    pairs
}

/// `[key, json, key, json, …]`, or None when no layer handed anything over.
fn flat_locals(locals: Vec<(String, serde_json::Value)>) -> Option<Vec<String>> {
    if locals.is_empty() {
        return None;
    }
    let mut flat = Vec::with_capacity(locals.len() * 2);
    for (k, v) in locals {
        flat.push(k);
        flat.push(v.to_string());
    }
    Some(flat)
}

/// Values per request in [`PackedBatch::meta`].
pub(super) const META: usize = 8;

// Flags of a request in [`PackedBatch::meta`] (exported to `lib/dispatch.js` by `shared.rs`).
pub(super) const FLAG_BODY: u32 = 1;
pub(super) const FLAG_LOCALS: u32 = 2;
pub(super) const FLAG_PARAMS: u32 = 4;
pub(super) const FLAG_PEER_TEXT: u32 = 8;
pub(super) const FLAG_PEER_IPV4: u32 = 16;
pub(super) const FLAG_VALID: u32 = 32;

/// Queued requests packed for one crossing: numbers in a typed array, every
/// string in one JS string (cut with `slice`), the rest apart. Per request,
/// `meta` holds id, route, flags (1 body, 2 locals, 4 params, 8 client
/// address as text, 16 client IPv4 address as a number), the end offsets
/// (UTF-16 units) in `text` of the method, the target, the headers (names
/// and values joined by NUL, which neither can hold) and the address text,
/// then the IPv4 address (0 unless flag 16). `extras` holds, in request
/// order, the body (Buffer) of each request with flag 1, its locals (flag
/// 2), its params `[name, value, …]` (flag 4; they may hold any character),
/// its validated values `[json]` (flag 32, `@Route({ validate })`).
#[derive(Default)]
pub(super) struct PackedBatch {
    pub meta: Vec<u32>,
    pub text: String,
    /// UTF-16 length of `text` so far.
    len16: u32,
    pub extras: Vec<Either<Buffer, Vec<String>>>,
}

impl PackedBatch {
    pub(super) fn new(requests: Vec<JsRequest>) -> PackedBatch {
        let mut packed = PackedBatch::default();
        packed.meta.reserve(requests.len() * META);
        for req in requests {
            packed.push(req);
        }
        packed
    }

    fn push_str(&mut self, s: &str) -> u32 {
        self.text.push_str(s);
        let n = if s.is_ascii() {
            s.len()
        } else {
            s.encode_utf16().count()
        };
        self.len16 += n as u32;
        self.len16
    }

    /// Bytes known to be ASCII (one UTF-16 unit each).
    fn push_ascii(&mut self, s: &str) {
        self.text.push_str(s);
        self.len16 += s.len() as u32;
    }

    fn push_headers(&mut self, headers: &hyper::HeaderMap) -> u32 {
        for (i, (k, v)) in headers.iter().enumerate() {
            if i > 0 {
                self.push_ascii("\0");
            }
            // Names are lowercase ASCII as hyper parsed them.
            self.push_ascii(k.as_str());
            self.push_ascii("\0");
            match v.to_str() {
                // Visible ASCII (and tab): the usual case, no validation left to do.
                Ok(ascii) => self.push_ascii(ascii),
                Err(_) => {
                    self.push_str(&String::from_utf8_lossy(v.as_bytes()));
                }
            }
        }
        self.len16
    }

    fn push(&mut self, req: JsRequest) {
        let ipv4 = match req.peer {
            Some(std::net::IpAddr::V4(ip)) => Some(u32::from(ip)),
            _ => None,
        };
        let flag = |on: bool, flag: u32| if on { flag } else { 0 };
        let flags = flag(!req.body.is_empty(), FLAG_BODY)
            | flag(!req.locals.is_empty(), FLAG_LOCALS)
            | flag(!req.params.is_empty(), FLAG_PARAMS)
            | flag(req.peer.is_some() && ipv4.is_none(), FLAG_PEER_TEXT)
            | flag(ipv4.is_some(), FLAG_PEER_IPV4)
            | flag(req.valid.is_some(), FLAG_VALID);
        self.meta.extend([req.id, req.route as u32, flags]);
        let m = self.push_str(req.method.as_str());
        let t = self.push_str(&req.target);
        let h = self.push_headers(&req.headers);
        let a = match (req.peer, ipv4) {
            (Some(ip), None) => self.push_str(&ip.to_string()),
            _ => self.len16,
        };
        self.meta.extend([m, t, h, a, ipv4.unwrap_or(0)]);
        if flags & FLAG_BODY != 0 {
            self.extras.push(Either::A(Buffer::from(req.body.to_vec())));
        }
        if let Some(locals) = flat_locals(req.locals) {
            self.extras.push(Either::B(locals));
        }
        if flags & FLAG_PARAMS != 0 {
            let mut params = Vec::with_capacity(req.params.len() * 2);
            for (k, v) in req.params {
                params.push(k.to_string());
                params.push(v);
            }
            self.extras.push(Either::B(params));
        }
        if let Some(valid) = req.valid {
            self.extras.push(Either::B(vec![valid]));
        }
    }
}
