//! Tests of frame encoding: the three length forms at their edges, control frames.
use super::*;

/// (first byte, payload length, payload offset) of a server frame.
fn parse(frame: &[u8]) -> (u8, usize, usize) {
    assert_eq!(frame[1] & 0x80, 0, "server frames are never masked");
    match frame[1] & 0x7f {
        126 => (
            frame[0],
            u16::from_be_bytes([frame[2], frame[3]]) as usize,
            4,
        ),
        127 => {
            let mut len = [0u8; 8];
            len.copy_from_slice(&frame[2..10]);
            (frame[0], u64::from_be_bytes(len) as usize, 10)
        }
        n => (frame[0], n as usize, 2),
    }
}

#[test]
fn lengths_use_the_shortest_form() {
    for (len, header, marker) in [
        (0, 2, 0),
        (1, 2, 1),
        (125, 2, 125),
        (126, 4, 126),
        (127, 4, 126),
        (65535, 4, 126),
        (65536, 10, 127),
        (70000, 10, 127),
    ] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let frame = encode(Opcode::Binary, &payload);
        assert_eq!(frame.len(), header + len, "len {len}");
        assert_eq!(header_len(len), header);
        assert_eq!(frame[1], marker, "len {len}");
        let (b0, parsed, offset) = parse(&frame);
        assert_eq!(b0, 0x82);
        assert_eq!((parsed, offset), (len, header));
        assert_eq!(&frame[offset..], &payload[..]);
    }
}

#[test]
fn helpers_set_fin_and_opcode() {
    assert_eq!(&text(b"hi")[..], &[0x81, 2, b'h', b'i']);
    assert_eq!(&binary(&[1, 2])[..], &[0x82, 2, 1, 2]);
    assert_eq!(&ping(b"p")[..], &[0x89, 1, b'p']);
    assert_eq!(&pong(b"p")[..], &[0x8A, 1, b'p']);
    assert_eq!(&close_empty()[..], &[0x88, 0]);
    assert_eq!(&close(1000, "")[..], &[0x88, 2, 0x03, 0xE8]);
    assert_eq!(
        &close(1002, "bad")[..],
        &[0x88, 5, 0x03, 0xEA, b'b', b'a', b'd']
    );
}

#[test]
fn control_payloads_are_capped_at_125() {
    let long = [7u8; 300];
    assert_eq!(parse(&ping(&long)).1, 125);
    assert_eq!(parse(&pong(&long)).1, 125);
    let reason = "x".repeat(200);
    let frame = close(1000, &reason);
    assert_eq!(parse(&frame).1, 125);
    assert_eq!(&frame[4..], "x".repeat(123).as_bytes());
}

#[test]
fn close_reason_is_cut_on_a_char_boundary() {
    // 61 two-byte characters = 122 bytes fit; the 62nd would make 124 > 123.
    let reason = "é".repeat(70);
    let frame = close(4000, &reason);
    let (_, len, offset) = parse(&frame);
    assert_eq!(len, 2 + 122);
    assert_eq!(u16::from_be_bytes([frame[offset], frame[offset + 1]]), 4000);
    assert_eq!(
        std::str::from_utf8(&frame[offset + 2..]).unwrap(),
        "é".repeat(61)
    );
    // A four-byte character straddling the limit is dropped whole.
    let reason = format!("{}🦀", "a".repeat(121));
    let frame = close(1000, &reason);
    assert_eq!(&frame[4..], "a".repeat(121).as_bytes());
}

#[test]
fn opcodes_round_trip() {
    for op in [
        Opcode::Continuation,
        Opcode::Text,
        Opcode::Binary,
        Opcode::Close,
        Opcode::Ping,
        Opcode::Pong,
    ] {
        assert_eq!(Opcode::from_u8(op.as_u8()), Some(op));
        assert_eq!(Opcode::try_from(u8::from(op)), Ok(op));
    }
    for reserved in (3..=7).chain(11..=15) {
        assert_eq!(Opcode::from_u8(reserved), None);
        assert_eq!(Opcode::try_from(reserved), Err(reserved));
    }
    assert!(Opcode::Close.is_control() && Opcode::Ping.is_control() && Opcode::Pong.is_control());
    assert!(
        !Opcode::Text.is_control()
            && !Opcode::Binary.is_control()
            && !Opcode::Continuation.is_control()
    );
}
