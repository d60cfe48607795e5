//! Randomized cross-check: [`TrieRouter`] must agree with [`LinearRouter`]
//! on generated route sets and paths, whatever the registration order.
use super::*;

/// SplitMix64: tiny, deterministic, good enough for test generation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const PATTERN_STATICS: &[&str] = &["a", "b", "c", "%61", "café", "caf%C3%A9", "a:b", "v*"];
const PARAM_NAMES: &[&str] = &["x", "y", "z", "id"];
const PATH_SEGMENTS: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "%61",
    "%62",
    "%2561",
    "",
    "café",
    "caf%C3%A9",
    "caf%c3%a9",
    "caf%25C3%25A9",
    "a:b",
    "v*",
    "%2F",
    "x%2Fy",
    "%zz",
    "%",
    "%FF",
    "a%3Ab",
];
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PURGE"];
const LOOKUP_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "PURGE"];

fn gen_pattern(rng: &mut Rng) -> String {
    if rng.chance(2) {
        return rng
            .pick(&["", "//", "a", "/a//b", "/:", "/:a-b"])
            .to_string();
    }
    let mut out = String::new();
    for _ in 0..rng.below(5) {
        out.push('/');
        match rng.below(10) {
            0..=5 => out.push_str(rng.pick(PATTERN_STATICS)),
            6 | 7 => {
                out.push(':');
                out.push_str(rng.pick(PARAM_NAMES));
            }
            _ => out.push('*'),
        }
    }
    if out.is_empty() || rng.chance(20) {
        out.push('/');
    }
    out
}

fn gen_path(rng: &mut Rng) -> String {
    if rng.chance(3) {
        return rng.pick(&["", "//", "a/b", "*", "///"]).to_string();
    }
    let mut out = String::new();
    for _ in 0..rng.below(6) {
        out.push('/');
        out.push_str(rng.pick(PATH_SEGMENTS));
    }
    if out.is_empty() || rng.chance(20) {
        out.push('/');
    }
    out
}

#[test]
fn trie_agrees_with_linear() {
    let mut rng = Rng(0x5EED_0FC0_FFEE);
    let (mut found, mut not_allowed, mut missing, mut rejected) = (0, 0, 0, 0);
    for round in 0..3000 {
        let mut trie = TrieRouter::default();
        let mut linear = LinearRouter::default();
        let mut accepted = Vec::new();
        for id in 0..1 + rng.below(12) {
            let m = method(rng.pick(METHODS));
            let pattern = gen_pattern(&mut rng);
            let from_trie = trie.add(m.clone(), &pattern, id);
            let from_linear = linear.add(m.clone(), &pattern, id);
            assert_eq!(from_trie, from_linear, "round {round}: add {m} {pattern:?}");
            match from_trie {
                Ok(()) => accepted.push((m, pattern, id)),
                Err(_) => rejected += 1,
            }
        }
        // The same routes registered in reverse order must behave the same.
        let mut trie_rev = TrieRouter::default();
        let mut linear_rev = LinearRouter::default();
        for (m, pattern, id) in accepted.iter().rev() {
            trie_rev
                .add(m.clone(), pattern, *id)
                .expect("accepted before");
            linear_rev
                .add(m.clone(), pattern, *id)
                .expect("accepted before");
        }
        for _ in 0..25 {
            let path = gen_path(&mut rng);
            for name in LOOKUP_METHODS {
                let m = method(name);
                let expected = linear.lookup(&m, &path);
                let context = || format!("round {round}: {m} {path:?} with {accepted:?}");
                assert_eq!(trie.lookup(&m, &path), expected, "{}", context());
                assert_eq!(trie_rev.lookup(&m, &path), expected, "{} (rev)", context());
                assert_eq!(
                    linear_rev.lookup(&m, &path),
                    expected,
                    "{} (lin rev)",
                    context()
                );
                match expected {
                    Lookup::Found(_) => found += 1,
                    Lookup::MethodNotAllowed { .. } => not_allowed += 1,
                    Lookup::NotFound => missing += 1,
                }
            }
        }
    }
    // Guard against a generator that exercises nothing interesting.
    for (what, count) in [
        ("found", found),
        ("not allowed", not_allowed),
        ("not found", missing),
        ("rejected", rejected),
    ] {
        assert!(count > 1000, "only {count} {what}");
    }
}
