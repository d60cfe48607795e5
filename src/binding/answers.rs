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
use crate::http::{JsResponse, JSON_TYPE};

/// Numbers per answer in `meta`.
pub(super) const META: usize = 4;

const HEADERS_JSON: u32 = 1;
const HEADERS_NONE: u32 = 2;
const HEADERS_TEXT: u32 = 3;
const BODY_EXTRA: u32 = 4;

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

/// The answers in `meta`, `text` and `extras`, as `(id, answer)`. An answer
/// that cannot be read becomes a 500 saying why; the others are unaffected.
pub(super) fn unpack(meta: &[u32], text: String, extras: &Array) -> Vec<(u32, JsResponse)> {
    let mut offsets = Offsets::new(&text);
    let mut cuts = Vec::with_capacity(meta.len() / META);
    let mut answers = Vec::with_capacity(meta.len() / META);
    let mut at = 0usize;
    let mut extra = 0u32;
    for m in meta.chunks_exact(META) {
        let (id, status, flags, end) = (m[0], m[1], m[2], m[3] as usize);
        let mut failure = None;
        let headers = match flags & 3 {
            HEADERS_JSON => vec![("content-type".into(), JSON_TYPE.into())],
            HEADERS_TEXT => vec![("content-type".into(), TEXT_TYPE.into())],
            HEADERS_NONE => Vec::new(),
            // 0: listed in `extras`.
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
        let body = if flags & BODY_EXTRA != 0 {
            let buffer = extras.get::<Buffer>(extra);
            extra += 1;
            match buffer {
                Ok(Some(b)) => Some(Bytes::copy_from_slice(&b)),
                Ok(None) => Some(Bytes::new()),
                Err(e) => {
                    failure.get_or_insert(format!("the body is not bytes ({})", e.reason));
                    Some(Bytes::new())
                }
            }
        } else {
            None
        };
        // A string body: a cut of `text`, taken below once `text` is shared.
        let cut = if body.is_none() {
            let range = offsets
                .byte_of(at)
                .zip(offsets.byte_of(end))
                .filter(|(a, b)| a <= b);
            at = end + 1;
            if range.is_none() {
                failure.get_or_insert("its body could not be read".to_owned());
            }
            range
        } else {
            None
        };
        let answer = match failure {
            Some(why) => JsResponse::error(
                500,
                "Internal server error",
                &format!("the handler's answer could not be sent: {why}"),
            ),
            None => JsResponse {
                status: u16::try_from(status).unwrap_or(500),
                headers,
                body: body.unwrap_or_default(),
            },
        };
        cuts.push(cut);
        answers.push((id, answer));
    }
    let text = Bytes::from(text.into_bytes());
    for ((_, answer), cut) in answers.iter_mut().zip(cuts) {
        if let Some((a, b)) = cut {
            answer.body = text.slice(a..b);
        }
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
}
