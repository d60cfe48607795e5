//! What the cache keeps: a stored reply (status, headers, body and the
//! request headers it varies on) or a method's result as JSON text, plus
//! the keys that find them and a compact binary form for Redis.
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, StatusCode};
use xxhash_rust::xxh3::{xxh3_128, Xxh3Default};

/// Bytes counted for an entry besides its key, headers and body.
const OVERHEAD: usize = 128;
/// First bytes of an encoded entry (format version 1).
const MAGIC: &[u8; 3] = b"NC1";
const KIND_REPLY: u8 = 1;
const KIND_VALUE: u8 = 2;

/// One cached item.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The full key (`module:method:hash`).
    pub key: Box<str>,
    /// Wall-clock milliseconds when it was stored (for `Age`).
    pub stored_at: u64,
    /// Wall-clock milliseconds after which it is stale.
    pub expires_at: u64,
    pub payload: Payload,
}

/// A route's reply or a method's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Reply(StoredReply),
    /// JSON text of a method's result (`engine.handler()` calls).
    Value(Bytes),
}

/// A 200 reply as the inner layers gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The request headers named by the reply's `Vary`, with the values the
    /// storing request had: a later request must have the same ones.
    pub vary: Vec<(HeaderName, Vec<HeaderValue>)>,
    /// `Cache-Control: public` or `s-maxage`: may answer requests that carry
    /// `Authorization`.
    pub public: bool,
}

impl Entry {
    /// Bytes this entry counts against the cache's `maxBytes`.
    pub fn size(&self) -> usize {
        let payload = match &self.payload {
            Payload::Value(v) => v.len(),
            Payload::Reply(r) => {
                let headers: usize = r
                    .headers
                    .iter()
                    .map(|(k, v)| k.as_str().len() + v.len() + 16)
                    .sum();
                let vary: usize = r
                    .vary
                    .iter()
                    .map(|(k, vs)| {
                        k.as_str().len() + vs.iter().map(|v| v.len() + 16).sum::<usize>()
                    })
                    .sum();
                r.body.len() + headers + vary
            }
        };
        OVERHEAD + self.key.len() + payload
    }
}

/// The id of a key in the memory store (a 128-bit hash: collisions are not a concern).
pub fn key_id(key: &str) -> u128 {
    xxh3_128(key.as_bytes())
}

/// A route request's key: `prefix` (`module:method:`) and the hex hash of
/// `GET <path?query>`, as 32 bytes on the stack.
pub struct HttpKey<'a> {
    prefix: &'a str,
    hash: [u8; 32],
}

impl<'a> HttpKey<'a> {
    /// HEAD is keyed as GET: a stored GET reply answers both.
    pub fn new(prefix: &'a str, target: &str) -> HttpKey<'a> {
        let mut h = Xxh3Default::new();
        h.update(b"GET ");
        h.update(target.as_bytes());
        HttpKey {
            prefix,
            hash: hex128(h.digest128()),
        }
    }

    /// The key again from [`HttpKey::hash`].
    pub fn from_hash(prefix: &'a str, hash: [u8; 32]) -> HttpKey<'a> {
        HttpKey { prefix, hash }
    }

    /// The hex hash of the request part.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// Its memory-store id: equal to `key_id(&self.to_string())`, without allocating.
    pub fn id(&self) -> u128 {
        let mut h = Xxh3Default::new();
        h.update(self.prefix.as_bytes());
        h.update(&self.hash);
        h.digest128()
    }

    /// The full key text.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(self.prefix.len() + self.hash.len());
        s.push_str(self.prefix);
        // Hex digits only: always valid UTF-8.
        s.extend(self.hash.iter().map(|&b| b as char));
        s
    }
}

fn hex128(v: u128) -> [u8; 32] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 124 - 4 * i;
        *slot = DIGITS[((v >> shift) & 0xf) as usize];
    }
    out
}

/// Serializes an entry (without its key) for Redis:
/// `NC1`, kind, stored_at, expires_at, then the payload. Lengths are
/// big-endian; names and values of headers are length-prefixed.
pub fn encode(entry: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.size());
    out.extend_from_slice(MAGIC);
    match &entry.payload {
        Payload::Value(v) => {
            out.push(KIND_VALUE);
            out.extend_from_slice(&entry.stored_at.to_be_bytes());
            out.extend_from_slice(&entry.expires_at.to_be_bytes());
            out.extend_from_slice(v);
        }
        Payload::Reply(r) => {
            out.push(KIND_REPLY);
            out.extend_from_slice(&entry.stored_at.to_be_bytes());
            out.extend_from_slice(&entry.expires_at.to_be_bytes());
            out.extend_from_slice(&r.status.as_u16().to_be_bytes());
            out.push(u8::from(r.public));
            put_len(&mut out, r.vary.len());
            for (name, values) in &r.vary {
                put_bytes(&mut out, name.as_str().as_bytes());
                put_len(&mut out, values.len());
                for v in values {
                    put_bytes(&mut out, v.as_bytes());
                }
            }
            put_len(&mut out, r.headers.len());
            for (name, value) in &r.headers {
                put_bytes(&mut out, name.as_str().as_bytes());
                put_bytes(&mut out, value.as_bytes());
            }
            out.extend_from_slice(&r.body);
        }
    }
    out
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

/// Reads what [`encode`] wrote; `Err` for anything else (another writer, a
/// newer format, truncation).
pub fn decode(key: &str, bytes: &[u8]) -> Result<Entry, &'static str> {
    let mut r = Reader(bytes);
    if r.take(3)? != MAGIC {
        return Err("not a cache entry");
    }
    let kind = r.u8()?;
    let stored_at = r.u64()?;
    let expires_at = r.u64()?;
    let payload = match kind {
        KIND_VALUE => Payload::Value(Bytes::copy_from_slice(r.0)),
        KIND_REPLY => {
            let status = StatusCode::from_u16(r.u16()?).map_err(|_| "bad status")?;
            let public = r.u8()? != 0;
            let n = r.len()?;
            let mut vary = Vec::with_capacity(n.min(16));
            for _ in 0..n {
                let name = HeaderName::from_bytes(r.bytes()?).map_err(|_| "bad header name")?;
                let m = r.len()?;
                let mut values = Vec::with_capacity(m.min(16));
                for _ in 0..m {
                    values.push(HeaderValue::from_bytes(r.bytes()?).map_err(|_| "bad header")?);
                }
                vary.push((name, values));
            }
            let n = r.len()?;
            let mut headers = HeaderMap::with_capacity(n.min(64));
            for _ in 0..n {
                let name = HeaderName::from_bytes(r.bytes()?).map_err(|_| "bad header name")?;
                let value = HeaderValue::from_bytes(r.bytes()?).map_err(|_| "bad header")?;
                headers.append(name, value);
            }
            Payload::Reply(StoredReply {
                status,
                headers,
                body: Bytes::copy_from_slice(r.0),
                vary,
                public,
            })
        }
        _ => return Err("unknown entry kind"),
    };
    Ok(Entry {
        key: key.into(),
        stored_at,
        expires_at,
        payload,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("truncated cache entry");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, &'static str> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn len(&mut self) -> Result<usize, &'static str> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(a) as usize)
    }
    fn bytes(&mut self) -> Result<&'a [u8], &'static str> {
        let n = self.len()?;
        self.take(n)
    }
}
