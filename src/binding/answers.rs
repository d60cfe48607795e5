//! Handlers' answers coming back from the JS thread, packed by
//! `lib/answers.js` for one crossing: numbers in a typed array, string bodies
//! cut from one JS string, the rest apart. Per answer, `meta` holds the
//! request id, the status, flags and the end (UTF-16 units) of its body in
//! `text`; each string body is followed by one separator character (so a
//! lone surrogate at its end never pairs with the next body's start). Flags:
//! bits 0–1 the headers (0: `[name, value, …]` next in `extras`, 1: JSON
//! content type, 2: none, 3: plain-text content type), bit 2: the body is
//! the next Buffer in `extras` instead of a cut of `text`.
use bytes::Bytes;
use napi::bindgen_prelude::*;

use super::dispatch::header_pairs;
use nebula_core::http::JsResponse;
use nebula_core::kernel::JSON_TYPE;

/// Numbers per answer in `meta`.
pub(super) const META: usize = 4;

// Flags of an answer (exported to `lib/answers.js` by `shared.rs`): the
// headers in the bits of HEADERS_MASK, BODY_EXTRA apart.
pub(super) const HEADERS_MASK: u32 = 3;
pub(super) const HEADERS_LISTED: u32 = 0;
pub(super) const HEADERS_JSON: u32 = 1;
pub(super) const HEADERS_NONE: u32 = 2;
pub(super) const HEADERS_TEXT: u32 = 3;
pub(super) const BODY_EXTRA: u32 = 4;

const TEXT_TYPE: &str = "text/plain; charset=utf-8";

/// Maps the increasing UTF-16 offsets JS counts in to byte offsets of the
/// UTF-8 text Rust received.
struct Offsets<'a> {
    text: &'a str,
    ascii: bool,
    byte: usize,
    unit: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Offsets {
            text,
            ascii: text.is_ascii(),
            byte: 0,
            unit: 0,
        }
    }

    /// The byte offset of UTF-16 offset `unit`, which must not be behind the
    /// last one asked for; None when it is past the end or splits a character.
    fn byte_of(&mut self, unit: usize) -> Option<usize> {
        if self.ascii {
            return (unit <= self.text.len()).then_some(unit);
        }
        if unit < self.unit {
            return None;
        }
        let mut chars = self.text.get(self.byte..)?.chars();
        while self.unit < unit {
            let c = chars.next()?;
            self.unit += c.len_utf16();
            self.byte += c.len_utf8();
        }
        (self.unit == unit).then_some(self.byte)
    }
}

/// One answer as `meta` describes it, its string body located in `text`.
#[derive(Debug, PartialEq, Eq)]
struct Planned {
    id: u32,
    status: u32,
    flags: u32,
    body: Body,
}

#[derive(Debug, PartialEq, Eq)]
enum Body {
    /// A string body: its byte range in `text`.
    Text(usize, usize),
    /// The next Buffer in `extras`.
    Extra,
    /// Offsets that do not fall on characters of `text` (never from `lib/answers.js`).
    Unreadable,
}

/// Reads `meta` against `text` (no JS values involved).
fn plan(meta: &[u32], text: &str) -> Vec<Planned> {
    let mut offsets = Offsets::new(text);
    let mut at = 0usize;
    let mut planned = Vec::with_capacity(meta.len() / META);
    for m in meta.chunks_exact(META) {
        let (id, status, flags, end) = (m[0], m[1], m[2], m[3] as usize);
        let body = if flags & BODY_EXTRA != 0 {
            Body::Extra
        } else {
            let range = offsets
                .byte_of(at)
                .zip(offsets.byte_of(end))
                .filter(|(a, b)| a <= b);
            // Past the body and its separator.
            at = end + 1;
            range.map_or(Body::Unreadable, |(a, b)| Body::Text(a, b))
        };
        planned.push(Planned {
            id,
            status,
            flags,
            body,
        });
    }
    planned
}

fn failed(why: &str) -> JsResponse {
    JsResponse::error(
        500,
        "Internal server error",
        &format!("the handler's answer could not be sent: {why}"),
    )
}

/// The answers in `meta`, `text` and `extras`, as `(id, answer)`. An answer
/// that cannot be read becomes a 500 saying why; the others are unaffected.
pub(super) fn unpack(meta: &[u32], text: String, extras: &Array) -> Vec<(u32, JsResponse)> {
    let planned = plan(meta, &text);
    let text = Bytes::from(text.into_bytes());
    let mut extra = 0u32;
    let mut answers = Vec::with_capacity(planned.len());
    for p in planned {
        let mut failure = None;
        let headers = match p.flags & HEADERS_MASK {
            HEADERS_JSON => vec![("content-type".into(), JSON_TYPE.into())],
            HEADERS_TEXT => vec![("content-type".into(), TEXT_TYPE.into())],
            HEADERS_NONE => Vec::new(),
            // HEADERS_LISTED: listed in `extras`.
            _ => {
                let listed = extras.get::<Vec<String>>(extra);
                extra += 1;
                match listed {
                    Ok(Some(flat)) => header_pairs(flat),
                    Ok(None) => Vec::new(),
                    Err(e) => {
                        failure = Some(format!("the headers are not strings ({})", e.reason));
                        Vec::new()
                    }
                }
            }
        };
        let body = match p.body {
            Body::Text(a, b) => text.slice(a..b),
            Body::Extra => {
                let buffer = extras.get::<Buffer>(extra);
                extra += 1;
                match buffer {
                    Ok(Some(b)) => Bytes::copy_from_slice(&b),
                    Ok(None) => Bytes::new(),
                    Err(e) => {
                        failure.get_or_insert(format!("the body is not bytes ({})", e.reason));
                        Bytes::new()
                    }
                }
            }
            Body::Unreadable => {
                failure.get_or_insert("its body could not be read".to_owned());
                Bytes::new()
            }
        };
        let answer = match failure {
            Some(why) => failed(&why),
            None => JsResponse {
                status: u16::try_from(p.status).unwrap_or(500),
                headers,
                body,
                stream: None,
            },
        };
        answers.push((p.id, answer));
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_offsets_are_byte_offsets() {
        let mut o = Offsets::new("abc\0de");
        assert_eq!(o.byte_of(0), Some(0));
        assert_eq!(o.byte_of(3), Some(3));
        assert_eq!(o.byte_of(6), Some(6));
        assert_eq!(o.byte_of(7), None);
    }

    #[test]
    fn utf16_offsets_map_to_utf8_bytes() {
        // "é" is 1 unit / 2 bytes, "😀" 2 units / 4 bytes.
        let text = "é😀\0x";
        let mut o = Offsets::new(text);
        assert_eq!(o.byte_of(0), Some(0));
        assert_eq!(o.byte_of(1), Some(2));
        assert_eq!(o.byte_of(3), Some(6));
        assert_eq!(o.byte_of(4), Some(7));
        assert_eq!(o.byte_of(5), Some(8));
        assert_eq!(o.byte_of(6), None, "past the end");
    }

    #[test]
    fn an_offset_inside_a_pair_or_behind_is_refused() {
        let mut o = Offsets::new("😀é");
        assert_eq!(o.byte_of(1), None, "splits the pair");
        let mut o = Offsets::new("é😀");
        assert_eq!(o.byte_of(3), Some(6));
        assert_eq!(o.byte_of(1), None, "behind the last one");
    }

    fn planned(id: u32, flags: u32, body: Body) -> Planned {
        Planned {
            id,
            status: 200,
            flags,
            body,
        }
    }

    #[test]
    fn string_bodies_are_cut_between_separators_and_byte_bodies_take_no_text() {
        // As lib/answers.js packs them: "ab", a Buffer body, "", "é😀"; each
        // string body followed by one separator.
        let text = "ab\0\0é😀\0";
        let meta = [1, 200, 1, 2, 2, 200, 4 | 2, 3, 3, 200, 2, 3, 4, 200, 1, 7];
        assert_eq!(
            plan(&meta, text),
            vec![
                planned(1, 1, Body::Text(0, 2)),
                planned(2, 6, Body::Extra),
                planned(3, 2, Body::Text(3, 3)),
                planned(4, 1, Body::Text(4, 10)),
            ]
        );
    }

    #[test]
    fn lone_surrogates_stay_in_their_own_body() {
        // JS 'h\uD83D' and '\uDE00l': each lone surrogate reaches Rust as
        // U+FFFD (1 unit, 3 bytes), and the separator keeps them apart.
        let text = "h\u{FFFD}\0\u{FFFD}l\0";
        let meta = [1, 200, 3, 2, 2, 200, 3, 5];
        let p = plan(&meta, text);
        assert_eq!(p[0].body, Body::Text(0, 4));
        assert_eq!(p[1].body, Body::Text(5, 9));
        assert_eq!(&text[5..9], "\u{FFFD}l");
    }

    #[test]
    fn offsets_that_do_not_fit_the_text_fail_that_answer_only() {
        let text = "ok\0";
        // The second answer claims a body past the end.
        let meta = [1, 200, 1, 2, 2, 200, 1, 40];
        let p = plan(&meta, text);
        assert_eq!(p[0].body, Body::Text(0, 2));
        assert_eq!(p[1].body, Body::Unreadable);
    }
}
