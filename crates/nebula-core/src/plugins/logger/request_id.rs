//! Request ids: taken from the client when sane, generated otherwise.
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::HeaderValue;

pub use crate::kernel::locals::{is_sane_request_id as is_sane, REQUEST_ID_MAX_LEN as MAX_LEN};

/// What `before` leaves for `after` in `LayerCtx::scratch`: the request's
/// id, and when `before` saw the request (when the layer runs from the JS chain, `after` gets a fresh
/// `ctx.started`).
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub id: HeaderValue,
    pub started: std::time::Instant,
}

/// A random prefix for this process (std's hasher keys are random per process;
/// time and pid mixed in), fixed at first use.
fn prefix() -> u64 {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    *PREFIX.get_or_init(|| {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        h.write_u128(now.as_nanos());
        h.finish()
    })
}

/// `<16 hex: process prefix>-<12 hex: counter>`: unique within the process,
/// and across processes with overwhelming probability. One atomic increment.
pub fn generate() -> HeaderValue {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff_ffff;
    let mut buf = [0u8; 29];
    hex(prefix(), &mut buf[..16]);
    buf[16] = b'-';
    hex(n, &mut buf[17..]);
    match HeaderValue::from_maybe_shared(Bytes::copy_from_slice(&buf)) {
        Ok(v) => v,
        // Hex digits and '-' are always a valid header value.
        Err(_) => HeaderValue::from_static("0"),
    }
}

/// Writes the low `out.len()` nibbles of `v` as lowercase hex.
fn hex(mut v: u64, out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(v & 0xf) as usize];
        v >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids() {
        assert!(is_sane(b"abc-123"));
        assert!(is_sane(&[b'a'; MAX_LEN]));
        assert!(!is_sane(&[b'a'; MAX_LEN + 1]));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"has space"));
        assert!(!is_sane(b"tab\t"));
        assert!(!is_sane("é".as_bytes()));
    }

    #[test]
    fn generated_ids_are_unique_sane_and_share_the_prefix() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        for v in [&a, &b] {
            assert!(is_sane(v.as_bytes()));
            assert_eq!(v.len(), 29);
        }
        assert_eq!(a.as_bytes()[..17], b.as_bytes()[..17]);
        let s = a.to_str().unwrap();
        assert!(s[..16].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(&s[16..17], "-");
    }

    #[test]
    fn unique_across_threads() {
        let ids: Vec<Vec<HeaderValue>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..1000).map(|_| generate()).collect()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<_> = ids
            .into_iter()
            .flatten()
            .map(|v| v.as_bytes().to_vec())
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 4000);
    }

    #[test]
    fn hex_pads_with_zeros() {
        let mut out = [0u8; 6];
        hex(0xab, &mut out);
        assert_eq!(&out, b"0000ab");
    }
}
