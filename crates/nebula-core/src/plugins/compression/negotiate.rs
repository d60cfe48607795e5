//! What may be compressed, and how the client wants it: `Accept-Encoding`
//! negotiation and the compressible content types. No allocation.

/// A content coding this plugin produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Br,
    Gzip,
}

impl Encoding {
    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }

    /// From an option value (`"br"`, `"gzip"`).
    pub fn from_name(s: &str) -> Option<Encoding> {
        match s {
            "br" => Some(Encoding::Br),
            "gzip" => Some(Encoding::Gzip),
            _ => None,
        }
    }
}

/// The coding to use for a client's `Accept-Encoding`, among `prefs` (the
/// server's preference order): the highest q-value wins, ties go to the
/// server's preference, `q=0` excludes, `*` stands for codings not named,
/// `x-gzip` is `gzip`. None: send the body as is.
pub fn negotiate(accept: &[u8], prefs: &[Encoding]) -> Option<Encoding> {
    // q-values in thousandths; None = not named.
    let (mut br, mut gzip, mut star) = (None::<u16>, None::<u16>, None::<u16>);
    for item in accept.split(|&b| b == b',') {
        let mut parts = item.split(|&b| b == b';');
        let coding = parts.next().unwrap_or_default().trim_ascii();
        if coding.is_empty() {
            continue;
        }
        let mut q = Some(1000);
        for param in parts {
            let param = param.trim_ascii();
            if param.len() >= 2 && param[..2].eq_ignore_ascii_case(b"q=") {
                q = parse_q(param[2..].trim_ascii());
            }
        }
        // An item with a malformed q-value is ignored.
        let Some(q) = q else { continue };
        let slot = if coding.eq_ignore_ascii_case(b"br") {
            &mut br
        } else if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip") {
            &mut gzip
        } else if coding == b"*" {
            &mut star
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |old| old.max(q)));
    }
    let mut best = None;
    let mut best_q = 0;
    for &enc in prefs {
        let named = match enc {
            Encoding::Br => br,
            Encoding::Gzip => gzip,
        };
        let q = named.or(star).unwrap_or(0);
        if q > best_q {
            best = Some(enc);
            best_q = q;
        }
    }
    best
}

/// RFC 9110 qvalue: `0[.ddd]` or `1[.000]`, in thousandths.
fn parse_q(s: &[u8]) -> Option<u16> {
    let (&first, rest) = s.split_first()?;
    let whole = match first {
        b'0' => 0u16,
        b'1' => 1000,
        _ => return None,
    };
    let frac = match rest {
        [] => return Some(whole),
        [b'.', digits @ ..] if digits.len() <= 3 => digits,
        _ => return None,
    };
    let mut value = 0u16;
    let mut scale = 100;
    for &d in frac {
        if !d.is_ascii_digit() {
            return None;
        }
        value += u16::from(d - b'0') * scale;
        scale /= 10;
    }
    if whole == 1000 && value > 0 {
        return None;
    }
    Some(whole + value)
}

/// Whether a `Content-Type` is worth compressing: `text/*`, JSON, JavaScript,
/// XML and their `+json` / `+xml` relatives (SVG included).
pub fn compressible(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let starts = |p: &[u8]| essence.len() >= p.len() && essence[..p.len()].eq_ignore_ascii_case(p);
    let ends = |s: &[u8]| {
        essence.len() >= s.len() && essence[essence.len() - s.len()..].eq_ignore_ascii_case(s)
    };
    let is = |s: &[u8]| essence.eq_ignore_ascii_case(s);
    (starts(b"text/") && essence.len() > 5)
        || is(b"application/json")
        || is(b"application/javascript")
        || is(b"application/x-javascript")
        || is(b"application/ecmascript")
        || is(b"application/xml")
        || is(b"image/svg+xml")
        || (starts(b"application/") && (ends(b"+json") || ends(b"+xml")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Br, Gzip};

    const BOTH: &[Encoding] = &[Br, Gzip];

    fn pick(accept: &str, prefs: &[Encoding]) -> Option<Encoding> {
        negotiate(accept.as_bytes(), prefs)
    }

    #[test]
    fn server_preference_breaks_ties() {
        assert_eq!(pick("gzip, deflate, br", BOTH), Some(Br));
        assert_eq!(pick("gzip, br", &[Gzip, Br]), Some(Gzip));
        assert_eq!(pick("gzip", BOTH), Some(Gzip));
        assert_eq!(pick("br", &[Gzip]), None);
        assert_eq!(pick("deflate, identity", BOTH), None);
        assert_eq!(pick("", BOTH), None);
    }

    #[test]
    fn q_values_rank_and_zero_excludes() {
        assert_eq!(pick("br;q=0.5, gzip;q=0.8", BOTH), Some(Gzip));
        assert_eq!(pick("br;q=0.9, gzip;q=0.8", BOTH), Some(Br));
        assert_eq!(pick("br;q=0, gzip", BOTH), Some(Gzip));
        assert_eq!(pick("br;q=0, gzip;q=0.000", BOTH), None);
        assert_eq!(pick("BR ; Q=1.0 , GZip", BOTH), Some(Br));
        assert_eq!(pick("gzip;q=0.001", BOTH), Some(Gzip));
        assert_eq!(pick("x-gzip", BOTH), Some(Gzip));
    }

    #[test]
    fn star_covers_codings_not_named() {
        assert_eq!(pick("*", BOTH), Some(Br));
        assert_eq!(pick("*", &[Gzip]), Some(Gzip));
        assert_eq!(pick("br;q=0, *", BOTH), Some(Gzip));
        assert_eq!(pick("*;q=0, gzip", BOTH), Some(Gzip));
        assert_eq!(pick("*;q=0", BOTH), None);
        assert_eq!(pick("gzip;q=0.2, *;q=0.5", BOTH), Some(Br));
    }

    #[test]
    fn malformed_items_are_ignored() {
        assert_eq!(pick("br;q=2, gzip", BOTH), Some(Gzip));
        assert_eq!(pick("br;q=1.5, gzip", BOTH), Some(Gzip));
        assert_eq!(pick("br;q=0.1234, gzip;q=0.1", BOTH), Some(Gzip));
        assert_eq!(pick("br;q=, gzip;q=abc", BOTH), None);
        assert_eq!(pick(",,;, gzip;foo=bar", BOTH), Some(Gzip));
    }

    #[test]
    fn q_value_grammar() {
        assert_eq!(parse_q(b"1"), Some(1000));
        assert_eq!(parse_q(b"1.000"), Some(1000));
        assert_eq!(parse_q(b"1."), Some(1000));
        assert_eq!(parse_q(b"0.5"), Some(500));
        assert_eq!(parse_q(b"0.25"), Some(250));
        assert_eq!(parse_q(b"0.125"), Some(125));
        assert_eq!(parse_q(b"0"), Some(0));
        assert_eq!(parse_q(b"1.001"), None);
        assert_eq!(parse_q(b".5"), None);
        assert_eq!(parse_q(b"0.5x"), None);
        assert_eq!(parse_q(b""), None);
    }

    #[test]
    fn compressible_types() {
        for ct in [
            "text/html; charset=utf-8",
            "text/plain",
            "TEXT/CSS",
            "application/json",
            "application/json; charset=utf-8",
            "application/javascript",
            "application/problem+json",
            "application/atom+xml",
            "application/xml",
            "image/svg+xml",
        ] {
            assert!(compressible(ct.as_bytes()), "{ct}");
        }
        for ct in [
            "image/png",
            "application/octet-stream",
            "application/zip",
            "video/mp4",
            "text/",
            "",
            "application/jsonx",
            "image/jpeg+json",
        ] {
            assert!(!compressible(ct.as_bytes()), "{ct}");
        }
    }
}
