//! Protocol violations: each is answered with its close code, then the
//! connection ends.
use super::*;

/// Sends `bytes`, expects a close with `code`, and checks how the
/// connection ended, with the client answering the close or not.
async fn refused(bytes: Vec<u8>, code: u16, limits: Limits) {
    for answer in [true, false] {
        let bytes = bytes.clone();
        let cfg = ConnConfig { limits, ..cfg() };
        let ended = session(cfg, |mut c, _| async move {
            c.send(&bytes).await;
            let (got, _) = c.close_frame().await;
            assert_eq!(got, code);
            if answer {
                c.send(&tf::close(got, b"")).await;
            }
            // Either way the server shuts down (after the grace period when
            // the client stays silent).
            assert!(c.eof().await);
        })
        .await;
        assert_eq!((ended.code, ended.by_peer), (code, false), "{ended:?}");
        assert!(!ended.reason.is_empty());
    }
}

async fn protocol_error(bytes: Vec<u8>) {
    refused(bytes, 1002, Limits::default()).await;
}

#[tokio::test(start_paused = true)]
async fn ping_over_125_bytes() {
    protocol_error(tf::ping(&[0; 126])).await;
}

#[tokio::test(start_paused = true)]
async fn rsv_bits() {
    protocol_error(ClientFrame::new(0x1, b"hi").rsv(4).bytes()).await;
    protocol_error(ClientFrame::new(0x2, b"hi").rsv(1).bytes()).await;
}

#[tokio::test(start_paused = true)]
async fn reserved_opcodes() {
    protocol_error(ClientFrame::new(0x3, b"").bytes()).await;
    protocol_error(ClientFrame::new(0xB, b"x").bytes()).await;
}

#[tokio::test(start_paused = true)]
async fn fragmented_control_frame() {
    protocol_error(ClientFrame::new(0x9, b"x").fin(false).bytes()).await;
}

#[tokio::test(start_paused = true)]
async fn continuation_without_start() {
    protocol_error(ClientFrame::new(0x0, b"x").bytes()).await;
}

#[tokio::test(start_paused = true)]
async fn unmasked_frame() {
    protocol_error(ClientFrame::new(0x1, b"x").unmasked().bytes()).await;
}

#[tokio::test(start_paused = true)]
async fn bad_close_codes() {
    for code in [0, 999, 1005, 1006, 1015, 2999, 5000] {
        protocol_error(tf::close(code, b"")).await;
    }
    protocol_error(ClientFrame::new(0x8, &[3]).bytes()).await;
}

#[tokio::test(start_paused = true)]
async fn invalid_utf8_text() {
    refused(tf::text(&[b'o', b'k', 0xff]), 1007, Limits::default()).await;
    let mut fragments = ClientFrame::new(0x1, &[0xce]).fin(false).bytes();
    fragments.extend(ClientFrame::new(0x0, b"x").bytes());
    refused(fragments, 1007, Limits::default()).await;
}

#[tokio::test(start_paused = true)]
async fn invalid_utf8_close_reason() {
    refused(tf::close(1000, &[0xff, 0xfe]), 1007, Limits::default()).await;
}

#[tokio::test(start_paused = true)]
async fn message_over_the_limit() {
    let limits = Limits {
        max_message: 1000,
        max_fragments: 1024,
    };
    refused(tf::binary(&[0; 1001]), 1009, limits).await;
    // Refused from the header: a claimed huge frame with no payload.
    refused(
        ClientFrame::new(0x2, b"").declared_len(1 << 40).bytes(),
        1009,
        limits,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn too_many_fragments() {
    let limits = Limits {
        max_message: 1 << 20,
        max_fragments: 4,
    };
    let mut bytes = ClientFrame::new(0x1, b"a").fin(false).bytes();
    for _ in 0..4 {
        bytes.extend(ClientFrame::new(0x0, b"b").fin(false).bytes());
    }
    refused(bytes, 1009, limits).await;
}

#[tokio::test(start_paused = true)]
async fn queued_data_is_dropped_for_the_error_close() {
    let ended = session(cfg(), |mut c, outbox| async move {
        // The client never reads; the outbox fills up behind the socket.
        let mut bytes = tf::text(b"one");
        bytes.extend(ClientFrame::new(0x1, b"x").rsv(2).bytes());
        for _ in 0..10 {
            outbox.push(frame::text(b"queued"));
        }
        c.send(&bytes).await;
        let mut texts = 0;
        loop {
            match c.frame().await {
                Some((0x81, _)) => texts += 1,
                Some((0x88, payload)) => {
                    assert_eq!(&payload[..2], &1002u16.to_be_bytes());
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // Some of the queued frames may have gone out before the error.
        assert!(texts <= 11);
        assert!(c.eof().await);
    })
    .await;
    assert_eq!((ended.code, ended.by_peer), (1002, false));
}
