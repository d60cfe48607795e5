//! Closing: by the peer, by us, by the hub, on idle, on a dropped socket,
//! and the keep-alive ping.
use super::*;

#[tokio::test(start_paused = true)]
async fn peer_close_is_echoed() {
    let ended = session(cfg(), |mut c, _| async move {
        c.send(&tf::close(1000, b"done")).await;
        assert_eq!(c.close_frame().await, (1000, String::new()));
        assert!(c.eof().await);
    })
    .await;
    assert_eq!(
        ended,
        Ended {
            code: 1000,
            reason: "done".into(),
            by_peer: true
        }
    );
}

#[tokio::test(start_paused = true)]
async fn peer_close_without_a_code() {
    let ended = session(cfg(), |mut c, _| async move {
        c.send(&ClientFrame::new(0x8, b"").bytes()).await;
        assert_eq!(c.close_frame().await, (1000, String::new()));
        assert!(c.eof().await);
    })
    .await;
    assert_eq!(ended, peer_closed(1005));
}

#[tokio::test(start_paused = true)]
async fn messages_after_the_peer_close_are_ignored() {
    let ended = session(cfg(), |mut c, _| async move {
        let mut bytes = tf::text(b"before");
        bytes.extend(tf::close(4000, b""));
        bytes.extend(tf::text(b"after"));
        c.send(&bytes).await;
        assert_eq!(c.frame().await, Some((0x81, b"before".to_vec())));
        assert_eq!(c.close_frame().await, (4000, String::new()));
        assert!(c.eof().await);
    })
    .await;
    assert_eq!(ended, peer_closed(4000));
}

#[tokio::test(start_paused = true)]
async fn hub_closes_the_outbox() {
    let ended = session(cfg(), |mut c, outbox| async move {
        outbox.push(frame::text(b"last words"));
        outbox.close(1008, "token expired");
        assert_eq!(c.frame().await, Some((0x81, b"last words".to_vec())));
        assert_eq!(c.close_frame().await, (1008, "token expired".into()));
        // Messages that cross our close are dropped, not echoed.
        c.send(&tf::text(b"crossing")).await;
        c.finish_close(1008).await;
    })
    .await;
    assert_eq!(
        ended,
        Ended {
            code: 1008,
            reason: "token expired".into(),
            by_peer: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn silent_peer_after_our_close_waits_the_grace_period() {
    let grace = Duration::from_millis(1500);
    let start = Instant::now();
    let ended = session(
        ConnConfig {
            close_grace: grace,
            ..cfg()
        },
        |mut c, outbox| async move {
            outbox.close(1000, "bye");
            assert_eq!(c.close_frame().await, (1000, "bye".into()));
            assert!(c.eof().await);
            assert_eq!(start.elapsed(), grace);
        },
    )
    .await;
    assert_eq!(
        ended,
        Ended {
            code: 1000,
            reason: "bye".into(),
            by_peer: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn eof_after_our_close_ends_at_once() {
    let start = Instant::now();
    let ended = session(cfg(), |mut c, outbox| async move {
        outbox.close(1001, "shutdown");
        assert_eq!(c.close_frame().await, (1001, "shutdown".into()));
        drop(c);
    })
    .await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(
        ended,
        Ended {
            code: 1001,
            reason: "shutdown".into(),
            by_peer: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn dropped_socket_is_1006() {
    let ended = session(cfg(), |mut c, _| async move {
        c.send(&tf::text(b"hi")).await;
        assert_eq!(c.frame().await, Some((0x81, b"hi".to_vec())));
        drop(c);
    })
    .await;
    assert_eq!((ended.code, ended.by_peer), (1006, true));
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_closes_with_1001() {
    let idle = Duration::from_secs(10);
    let start = Instant::now();
    let ended = session(
        ConnConfig {
            idle_timeout: Some(idle),
            ..cfg()
        },
        |mut c, _| async move {
            // Activity at 6 s pushes the deadline to 16 s.
            time::sleep(Duration::from_secs(6)).await;
            c.send(&tf::ping(b"")).await;
            assert_eq!(c.frame().await, Some((0x8A, vec![])));
            assert_eq!(c.close_frame().await, (1001, "idle timeout".into()));
            assert_eq!(start.elapsed(), Duration::from_secs(16));
            c.finish_close(1001).await;
        },
    )
    .await;
    assert_eq!(
        ended,
        Ended {
            code: 1001,
            reason: "idle timeout".into(),
            by_peer: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn pings_on_the_interval() {
    let start = Instant::now();
    let cfg = ConnConfig {
        ping_interval: Some(Duration::from_secs(5)),
        ..cfg()
    };
    let ended = session(cfg, |mut c, _| async move {
        for n in 1..=3 {
            assert_eq!(c.frame().await, Some((0x89, vec![])));
            assert_eq!(start.elapsed(), Duration::from_secs(5 * n));
        }
        c.send(&tf::close(1000, b"")).await;
        c.close_frame().await;
    })
    .await;
    assert_eq!(ended, peer_closed(1000));
}

#[tokio::test(start_paused = true)]
async fn answered_pings_keep_an_idle_connection_open_only_if_the_peer_speaks() {
    // Our pings are not activity; the peer's pongs are.
    let cfg = ConnConfig {
        ping_interval: Some(Duration::from_secs(4)),
        idle_timeout: Some(Duration::from_secs(10)),
        ..cfg()
    };
    let start = Instant::now();
    let ended = session(cfg, |mut c, _| async move {
        for _ in 0..5 {
            assert_eq!(c.frame().await, Some((0x89, vec![])));
            c.send(&ClientFrame::new(0xA, b"").bytes()).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(20));
        // Now silent: two more pings go unanswered, then the idle close.
        assert_eq!(c.frame().await, Some((0x89, vec![])));
        assert_eq!(c.frame().await, Some((0x89, vec![])));
        assert_eq!(c.close_frame().await, (1001, "idle timeout".into()));
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        c.finish_close(1001).await;
    })
    .await;
    assert_eq!(ended.code, 1001);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_reads_cannot_hold_the_close() {
    let (server_io, mut client_io) = duplex(64);
    let outbox = Arc::new(Outbox::new(OutboxLimits::default()));
    let echo = Echo(outbox.clone());
    let start = Instant::now();
    let closer = async {
        assert_eq!(outbox.push(frame::binary(&[0; 100_000])), Push::Queued);
        time::sleep(Duration::from_secs(1)).await;
        outbox.close_now(1008, "policy");
    };
    let (ended, ()) = tokio::join!(run(server_io, outbox.clone(), cfg(), &echo), closer);
    assert_eq!(
        ended,
        Ended {
            code: 1008,
            reason: "policy".into(),
            by_peer: false
        }
    );
    // Closed at 1 s; the stuck write gets the 1 s grace.
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    let mut first = [0u8; 4];
    client_io.read_exact(&mut first).await.unwrap();
    assert_eq!(first, [0x82, 127, 0, 0]);
}
