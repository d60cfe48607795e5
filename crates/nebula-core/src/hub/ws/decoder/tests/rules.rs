//! Every rule a client can break, and the close code each earns.
use super::*;

#[test]
fn unmasked_frames_are_refused() {
    let err = error(&ClientFrame::new(0x1, b"hi").unmasked().bytes());
    assert_eq!(err.code, 1002);
    assert!(err.reason.contains("masked"));
    assert_eq!(
        error(&ClientFrame::new(0x9, b"").unmasked().bytes()).code,
        1002
    );
}

#[test]
fn rsv_bits_are_refused() {
    for rsv in 1..=7 {
        assert_eq!(
            error(&ClientFrame::new(0x1, b"hi").rsv(rsv).bytes()).code,
            1002,
            "rsv {rsv}"
        );
        assert_eq!(
            error(&ClientFrame::new(0x9, b"").rsv(rsv).bytes()).code,
            1002,
            "rsv {rsv}"
        );
    }
}

#[test]
fn reserved_opcodes_are_refused() {
    for op in (3..=7).chain(11..=15) {
        let err = error(&ClientFrame::new(op, b"").bytes());
        assert_eq!(
            err,
            ProtocolError {
                code: 1002,
                reason: "reserved opcode"
            },
            "opcode {op}"
        );
    }
}

#[test]
fn control_frames_must_be_short_and_final() {
    for op in [0x8, 0x9, 0xA] {
        assert_eq!(
            error(&ClientFrame::new(op, &[b'x'; 126]).bytes()).code,
            1002,
            "opcode {op}"
        );
        // Refused from the first two bytes, before the length or payload.
        let mut dec = decoder();
        let header = ClientFrame::new(op, &[0; 200]).bytes();
        assert_eq!(feed(&mut dec, &header[..2]).unwrap_err().code, 1002);
        assert_eq!(
            error(&ClientFrame::new(op, b"").fin(false).bytes()).code,
            1002,
            "opcode {op}"
        );
    }
    // 125 bytes is fine.
    assert_eq!(
        decode(&tf::ping(&[1; 125])).unwrap(),
        vec![Incoming::Ping(Bytes::from(vec![1; 125]))]
    );
}

#[test]
fn continuation_needs_a_message() {
    assert_eq!(error(&ClientFrame::new(0x0, b"x").bytes()).code, 1002);
    assert_eq!(
        error(&ClientFrame::new(0x0, b"x").fin(false).bytes()).code,
        1002
    );
    // After a complete message, too.
    assert_eq!(
        error(&concat(&[
            tf::text(b"a"),
            ClientFrame::new(0x0, b"x").bytes()
        ]))
        .code,
        1002
    );
}

#[test]
fn no_new_message_inside_a_fragmented_one() {
    for op in [0x1, 0x2] {
        let bytes = concat(&[
            ClientFrame::new(0x1, b"a").fin(false).bytes(),
            ClientFrame::new(op, b"b").bytes(),
        ]);
        assert_eq!(error(&bytes).code, 1002);
    }
}

#[test]
fn text_must_be_utf8() {
    assert_eq!(error(&tf::text(&[0xce, 0xba, 0xff])).code, 1007);
    // Cut short at the end of the message.
    assert_eq!(error(&tf::text(&[b'a', 0xe2, 0x82])).code, 1007);
    // Surrogates and overlong forms.
    assert_eq!(error(&tf::text(&[0xed, 0xa0, 0x80])).code, 1007);
    assert_eq!(error(&tf::text(&[0xc0, 0x80])).code, 1007);
    // Binary is not checked.
    assert_eq!(decode(&tf::binary(&[0xff])).unwrap(), vec![binary(&[0xff])]);
}

#[test]
fn invalid_utf8_fails_on_the_first_bad_fragment() {
    let mut dec = decoder();
    let first = ClientFrame::new(0x1, &[b'o', b'k', 0xff])
        .fin(false)
        .bytes();
    assert_eq!(feed(&mut dec, &first).unwrap_err().code, 1007);
    let mut dec = decoder();
    assert_eq!(
        feed(&mut dec, &ClientFrame::new(0x1, &[0xe2]).fin(false).bytes()).unwrap(),
        vec![]
    );
    // 0xe2 followed by 'a' can never become valid.
    let second = ClientFrame::new(0x0, b"a").fin(false).bytes();
    assert_eq!(feed(&mut dec, &second).unwrap_err().code, 1007);
}

#[test]
fn close_payload_rules() {
    assert_eq!(error(&ClientFrame::new(0x8, &[0x03]).bytes()).code, 1002);
    for code in [
        0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        assert_eq!(
            error(&tf::close(code, b"")),
            ProtocolError {
                code: 1002,
                reason: "invalid close code"
            }
        );
    }
    for code in [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
    ] {
        assert_eq!(
            decode(&tf::close(code, b"r")).unwrap(),
            vec![Incoming::Close(Some((code, "r".into())))]
        );
    }
    assert_eq!(error(&tf::close(1000, &[b'a', 0xff])).code, 1007);
}

#[test]
fn declared_length_over_the_limit_is_refused_before_the_payload() {
    let limits = Limits {
        max_message: 1000,
        max_fragments: 1024,
    };
    // Only the header is fed: the decoder refuses without waiting.
    for len in [1001u64, 70_000, 1 << 40] {
        let frame = ClientFrame::new(0x2, b"").declared_len(len).bytes();
        let mut dec = Decoder::new(limits);
        assert_eq!(feed(&mut dec, &frame).unwrap_err().code, 1009, "len {len}");
        assert!(dec.buffer_mut().capacity() < 8192);
    }
    // Exactly the limit is fine.
    let mut dec = Decoder::new(limits);
    assert_eq!(feed(&mut dec, &tf::binary(&[0; 1000])).unwrap().len(), 1);
}

#[test]
fn fragments_adding_up_over_the_limit() {
    let limits = Limits {
        max_message: 10,
        max_fragments: 1024,
    };
    let mut dec = Decoder::new(limits);
    feed(
        &mut dec,
        &ClientFrame::new(0x1, b"123456").fin(false).bytes(),
    )
    .unwrap();
    // 6 + 5 > 10, refused from the header alone.
    let next = ClientFrame::new(0x0, b"12345").bytes();
    assert_eq!(feed(&mut dec, &next[..6]).unwrap_err().code, 1009);
    let mut dec = Decoder::new(limits);
    let bytes = concat(&[
        ClientFrame::new(0x1, b"123456").fin(false).bytes(),
        ClientFrame::new(0x0, b"7890").bytes(),
    ]);
    assert_eq!(feed(&mut dec, &bytes).unwrap(), vec![text("1234567890")]);
}

#[test]
fn too_many_fragments() {
    let limits = Limits {
        max_message: 1 << 20,
        max_fragments: 3,
    };
    let start = ClientFrame::new(0x2, b"a").fin(false).bytes();
    let more = ClientFrame::new(0x0, b"b").fin(false).bytes();
    let last = ClientFrame::new(0x0, b"c").bytes();
    let mut dec = Decoder::new(limits);
    assert_eq!(
        feed(
            &mut dec,
            &concat(&[start.clone(), more.clone(), last.clone()])
        )
        .unwrap(),
        vec![binary(b"abc")]
    );
    let mut dec = Decoder::new(limits);
    assert_eq!(
        feed(
            &mut dec,
            &concat(&[start.clone(), more.clone(), more.clone()])
        )
        .unwrap(),
        vec![]
    );
    // The fourth frame is refused from its header, final or not.
    assert_eq!(feed(&mut dec, &last[..2]).unwrap_err().code, 1009);
    // Empty fragments count as well.
    let empty = ClientFrame::new(0x0, b"").fin(false).bytes();
    let mut dec = Decoder::new(limits);
    assert_eq!(
        feed(
            &mut dec,
            &concat(&[start, empty.clone(), empty.clone(), empty])
        )
        .unwrap_err()
        .code,
        1009
    );
}

#[test]
fn sixty_four_bit_length_with_the_top_bit_set() {
    let frame = ClientFrame::new(0x2, b"").declared_len(1 << 63).bytes();
    assert_eq!(
        error(&frame),
        ProtocolError {
            code: 1002,
            reason: "frame length has the top bit set"
        }
    );
}

#[test]
fn errors_are_sticky() {
    let mut dec = decoder();
    let err = feed(&mut dec, &ClientFrame::new(0x1, b"x").rsv(4).bytes()).unwrap_err();
    assert_eq!(feed(&mut dec, &tf::text(b"fine")).unwrap_err(), err);
    assert_eq!(dec.next().unwrap_err(), err);
}
