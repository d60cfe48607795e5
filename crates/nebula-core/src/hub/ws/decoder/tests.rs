//! Tests of the decoder: messages, fragments, and every rule a client can break.
use super::*;
use crate::hub::ws::test_frames::{self as tf, ClientFrame};

mod rules;

fn decoder() -> Decoder {
    Decoder::new(Limits::default())
}

/// Feeds `bytes` in one go and collects everything decoded up to the first
/// `None` or error.
fn feed(dec: &mut Decoder, bytes: &[u8]) -> Result<Vec<Incoming>, ProtocolError> {
    dec.buffer_mut().extend_from_slice(bytes);
    let mut out = Vec::new();
    while let Some(msg) = dec.next()? {
        out.push(msg);
    }
    Ok(out)
}

/// Feeds `bytes` one at a time, decoding after each.
fn feed_bytewise(dec: &mut Decoder, bytes: &[u8]) -> Result<Vec<Incoming>, ProtocolError> {
    let mut out = Vec::new();
    for b in bytes {
        out.extend(feed(dec, &[*b])?);
    }
    Ok(out)
}

fn decode(bytes: &[u8]) -> Result<Vec<Incoming>, ProtocolError> {
    feed(&mut decoder(), bytes)
}

fn error(bytes: &[u8]) -> ProtocolError {
    let err = decode(bytes).unwrap_err();
    // Fed a byte at a time, the same error comes out.
    assert_eq!(feed_bytewise(&mut decoder(), bytes).unwrap_err(), err);
    err
}

fn text(s: &str) -> Incoming {
    Incoming::Text(Bytes::copy_from_slice(s.as_bytes()))
}

fn binary(b: &[u8]) -> Incoming {
    Incoming::Binary(Bytes::copy_from_slice(b))
}

fn concat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

#[test]
fn single_frames() {
    assert_eq!(decode(&tf::text(b"Hello")).unwrap(), vec![text("Hello")]);
    assert_eq!(
        decode(&tf::binary(&[0, 1, 255])).unwrap(),
        vec![binary(&[0, 1, 255])]
    );
    assert_eq!(decode(&tf::text(b"")).unwrap(), vec![text("")]);
    assert_eq!(
        decode(&tf::ping(b"hi")).unwrap(),
        vec![Incoming::Ping(Bytes::from_static(b"hi"))]
    );
    let pong = ClientFrame::new(0xA, b"yo").bytes();
    assert_eq!(
        decode(&pong).unwrap(),
        vec![Incoming::Pong(Bytes::from_static(b"yo"))]
    );
}

#[test]
fn close_frames() {
    assert_eq!(
        decode(&ClientFrame::new(0x8, b"").bytes()).unwrap(),
        vec![Incoming::Close(None)]
    );
    assert_eq!(
        decode(&tf::close(1000, b"")).unwrap(),
        vec![Incoming::Close(Some((1000, String::new())))]
    );
    assert_eq!(
        decode(&tf::close(4001, "bye ✓".as_bytes())).unwrap(),
        vec![Incoming::Close(Some((4001, "bye ✓".into())))]
    );
}

#[test]
fn nothing_is_decoded_after_a_close() {
    let mut dec = decoder();
    let got = feed(
        &mut dec,
        &concat(&[tf::close(1000, b""), tf::text(b"late"), vec![0xff, 0xff]]),
    )
    .unwrap();
    assert_eq!(got, vec![Incoming::Close(Some((1000, String::new())))]);
    assert_eq!(dec.next(), Ok(None));
    assert!(dec.buffer_mut().is_empty());
}

#[test]
fn every_length_form_and_byte_by_byte() {
    for len in [0, 1, 125, 126, 127, 1000, 1025, 65535, 65536, 70001] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let frame = tf::binary(&payload);
        assert_eq!(decode(&frame).unwrap(), vec![binary(&payload)], "len {len}");
        if len <= 1025 {
            assert_eq!(
                feed_bytewise(&mut decoder(), &frame).unwrap(),
                vec![binary(&payload)],
                "len {len}"
            );
        }
    }
}

#[test]
fn several_frames_in_one_read() {
    let bytes = concat(&[
        tf::text(b"a"),
        tf::ping(b""),
        tf::binary(b"b"),
        tf::text(b"c")[..3].to_vec(),
    ]);
    let mut dec = decoder();
    assert_eq!(
        feed(&mut dec, &bytes).unwrap(),
        vec![text("a"), Incoming::Ping(Bytes::new()), binary(b"b")]
    );
    assert_eq!(
        feed(&mut dec, &tf::text(b"c")[3..]).unwrap(),
        vec![text("c")]
    );
}

#[test]
fn fragments_are_reassembled() {
    let bytes = concat(&[
        ClientFrame::new(0x1, b"Hel").fin(false).bytes(),
        ClientFrame::new(0x0, b"").fin(false).bytes(),
        ClientFrame::new(0x0, b"lo").bytes(),
    ]);
    assert_eq!(decode(&bytes).unwrap(), vec![text("Hello")]);
    assert_eq!(
        feed_bytewise(&mut decoder(), &bytes).unwrap(),
        vec![text("Hello")]
    );
    let bytes = concat(&[
        ClientFrame::new(0x2, b"").fin(false).bytes(),
        ClientFrame::new(0x0, b"").bytes(),
    ]);
    assert_eq!(decode(&bytes).unwrap(), vec![binary(b"")]);
}

#[test]
fn control_frames_between_fragments_come_out_at_once() {
    let mut dec = decoder();
    assert_eq!(
        feed(&mut dec, &ClientFrame::new(0x2, b"ab").fin(false).bytes()).unwrap(),
        vec![]
    );
    assert_eq!(
        feed(&mut dec, &tf::ping(b"p")).unwrap(),
        vec![Incoming::Ping(Bytes::from_static(b"p"))]
    );
    let pong = ClientFrame::new(0xA, b"").bytes();
    assert_eq!(
        feed(&mut dec, &pong).unwrap(),
        vec![Incoming::Pong(Bytes::new())]
    );
    assert_eq!(
        feed(&mut dec, &ClientFrame::new(0x0, b"cd").bytes()).unwrap(),
        vec![binary(b"abcd")]
    );
    // A close in the middle ends everything.
    let bytes = concat(&[
        ClientFrame::new(0x1, b"ab").fin(false).bytes(),
        tf::close(1001, b""),
    ]);
    assert_eq!(
        decode(&bytes).unwrap(),
        vec![Incoming::Close(Some((1001, String::new())))]
    );
}

#[test]
fn utf8_split_across_fragments() {
    let euro = "€".as_bytes(); // e2 82 ac
    let bytes = concat(&[
        ClientFrame::new(0x1, &euro[..1]).fin(false).bytes(),
        ClientFrame::new(0x0, &euro[1..2]).fin(false).bytes(),
        ClientFrame::new(0x0, &euro[2..]).bytes(),
    ]);
    assert_eq!(decode(&bytes).unwrap(), vec![text("€")]);
    // Incomplete when the message ends.
    let bytes = concat(&[
        ClientFrame::new(0x1, b"a").fin(false).bytes(),
        ClientFrame::new(0x0, &euro[..2]).bytes(),
    ]);
    assert_eq!(error(&bytes).code, 1007);
}

#[test]
fn buffer_stays_near_one_frame() {
    let limits = Limits::default();
    let mut dec = Decoder::new(limits);
    let payload = vec![9u8; limits.max_message];
    let frame = tf::binary(&payload);
    // After the header, room for exactly the frame plus a read, not double.
    assert_eq!(feed(&mut dec, &frame[..14]).unwrap(), vec![]);
    let cap = dec.buffer_mut().capacity();
    assert!(
        cap >= frame.len() && cap <= frame.len() + READ_CHUNK,
        "capacity {cap}"
    );
    let mut got = Vec::new();
    for chunk in frame[14..].chunks(65536) {
        got.extend(feed(&mut dec, chunk).unwrap());
        assert!(dec.buffer_mut().capacity() <= frame.len() + READ_CHUNK);
    }
    assert_eq!(got, vec![Incoming::Binary(Bytes::from(payload))]);
    // Small frames afterwards reuse a small buffer.
    for _ in 0..100 {
        assert_eq!(
            feed(&mut dec, &tf::text(b"small")).unwrap(),
            vec![text("small")]
        );
    }
    assert!(dec.buffer_mut().capacity() <= frame.len() + READ_CHUNK);
}
