//! Tests of the send queue: limits, ordering, closing, the writer's wait.
use std::sync::Arc;
use std::time::Duration;

use super::*;

fn data(n: usize) -> Bytes {
    frame::binary(&vec![b'd'; n])
}

fn small() -> Outbox {
    Outbox::new(OutboxLimits {
        max_messages: 3,
        max_bytes: 100,
    })
}

/// The batch, or `None` if the writer would wait.
async fn batch(outbox: &Outbox) -> Option<(bool, Vec<Bytes>)> {
    let mut out = Vec::new();
    match tokio::time::timeout(Duration::from_millis(20), outbox.next_batch(&mut out)).await {
        Ok(more) => Some((more, out)),
        Err(_) => None,
    }
}

#[test]
fn defaults() {
    assert_eq!(
        OutboxLimits::default(),
        OutboxLimits {
            max_messages: 1024,
            max_bytes: 4 << 20
        }
    );
}

#[test]
fn message_limit() {
    let ob = small();
    for _ in 0..3 {
        assert_eq!(ob.push(data(1)), Push::Queued);
    }
    assert_eq!(ob.push(data(1)), Push::Full);
    assert_eq!((ob.len(), ob.queued_bytes()), (3, 9));
}

#[test]
fn byte_limit() {
    let ob = small();
    assert_eq!(ob.push(data(60)), Push::Queued); // 62 bytes framed
    assert_eq!(ob.push(data(37)), Push::Full); // 62 + 39 > 100
    assert_eq!(ob.push(data(36)), Push::Queued); // exactly 100
    assert_eq!(ob.queued_bytes(), 100);
    assert_eq!(ob.push(Bytes::new()), Push::Queued);
    // A frame over the whole limit fits only into an empty queue.
    let ob = small();
    assert_eq!(ob.push(data(200)), Push::Queued);
    assert_eq!(ob.push(data(1)), Push::Full);
}

#[tokio::test]
async fn batches_put_control_first_and_free_the_limits() {
    let ob = small();
    ob.push(data(1));
    ob.push(data(2));
    ob.push_control(frame::pong(b"p"));
    let (more, out) = batch(&ob).await.unwrap();
    assert!(more);
    assert_eq!(out, vec![frame::pong(b"p"), data(1), data(2)]);
    // While the writer writes them they still count…
    assert_eq!((ob.len(), ob.queued_bytes()), (2, 7));
    assert_eq!(ob.push(data(1)), Push::Queued);
    // …until it asks for the next batch.
    let (_, out) = batch(&ob).await.unwrap();
    assert_eq!(out, vec![data(1)]);
    assert_eq!((ob.len(), ob.queued_bytes()), (1, 3));
}

#[tokio::test]
async fn next_batch_appends_and_waits_when_empty() {
    let ob = Arc::new(small());
    assert!(batch(&ob).await.is_none());
    let writer = {
        let ob = ob.clone();
        tokio::spawn(async move {
            let mut out = vec![Bytes::from_static(b"kept")];
            let more = ob.next_batch(&mut out).await;
            (more, out)
        })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    ob.push(data(1));
    let (more, out) = writer.await.unwrap();
    assert!(more);
    assert_eq!(out, vec![Bytes::from_static(b"kept"), data(1)]);
}

#[test]
fn control_frames_bypass_the_limits_but_are_capped() {
    let ob = Outbox::new(OutboxLimits {
        max_messages: 1,
        max_bytes: 1,
    });
    assert_eq!(
        ob.push(data(0)),
        Push::Queued,
        "an empty queue takes one frame"
    );
    assert_eq!(ob.push(data(0)), Push::Full);
    for i in 0..MAX_CONTROL {
        assert_eq!(ob.push_control(frame::pong(&[i as u8])), Push::Queued);
    }
    // The oldest pong gives way.
    assert_eq!(ob.push_control(frame::pong(b"new")), Push::Queued);
    let st = ob.state.lock();
    assert_eq!(st.control.len(), MAX_CONTROL);
    assert_eq!(st.control.front(), Some(&frame::pong(&[1])));
    assert_eq!(st.control.back(), Some(&frame::pong(b"new")));
}

#[test]
fn a_queue_full_of_pings_drops_the_new_frame() {
    let ob = small();
    for _ in 0..MAX_CONTROL {
        ob.push_control(frame::ping(b""));
    }
    assert_eq!(ob.push_control(frame::pong(b"x")), Push::Full);
    assert_eq!(ob.push_control(frame::ping(b"x")), Push::Full);
}

#[tokio::test]
async fn close_goes_after_queued_data_and_ends_the_writer() {
    let ob = small();
    ob.push(data(1));
    ob.close(1000, "bye");
    assert!(ob.is_closing());
    assert_eq!(ob.close_reason(), Some((1000, "bye".into())));
    assert_eq!(ob.push(data(1)), Push::Closed);
    assert_eq!(ob.push_control(frame::pong(b"")), Push::Closed);
    let (more, out) = batch(&ob).await.unwrap();
    assert!(more);
    assert_eq!(out, vec![data(1), frame::close(1000, "bye")]);
    // Then the writer is done, at once.
    assert_eq!(batch(&ob).await, Some((false, vec![])));
}

#[tokio::test]
async fn close_now_discards_queued_frames() {
    let ob = small();
    ob.push(data(1));
    ob.push_control(frame::pong(b""));
    ob.close_now(1008, "token expired");
    assert!(ob.is_empty());
    let (_, out) = batch(&ob).await.unwrap();
    assert_eq!(out, vec![frame::close(1008, "token expired")]);
}

#[tokio::test]
async fn the_first_close_wins() {
    let ob = small();
    ob.push(data(1));
    ob.close(1001, "going away");
    ob.close(1000, "");
    ob.close_now(1002, "protocol");
    assert_eq!(ob.close_reason(), Some((1001, "going away".into())));
    // close_now still dropped the data queued before the first close.
    let (_, out) = batch(&ob).await.unwrap();
    assert_eq!(out, vec![frame::close(1001, "going away")]);
    // After the close frame went out, nothing changes.
    ob.close_now(1002, "late");
    assert_eq!(ob.close_reason(), Some((1001, "going away".into())));
    assert_eq!(batch(&ob).await, Some((false, vec![])));
}

#[tokio::test]
async fn disconnect_drops_everything() {
    let ob = small();
    ob.push(data(1));
    ob.disconnect();
    assert!(ob.is_closing());
    assert_eq!(ob.close_reason(), None);
    assert_eq!(ob.push(data(1)), Push::Closed);
    assert_eq!(batch(&ob).await, Some((false, vec![])));
    ob.close(1000, "");
    assert_eq!(ob.close_reason(), None);
}

#[tokio::test]
async fn closed_wakes_waiters() {
    let ob = Arc::new(small());
    assert!(tokio::time::timeout(Duration::from_millis(10), ob.closed())
        .await
        .is_err());
    let waiter = {
        let ob = ob.clone();
        tokio::spawn(async move { ob.closed().await })
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    ob.close(1000, "");
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    // Already closing: returns at once.
    ob.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_producers_one_writer() {
    const PRODUCERS: usize = 8;
    const EACH: usize = 500;
    let ob = Arc::new(Outbox::new(OutboxLimits {
        max_messages: usize::MAX,
        max_bytes: usize::MAX,
    }));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let ob = ob.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    assert_eq!(
                        ob.push(frame::binary(&[p as u8, i as u8, (i >> 8) as u8])),
                        Push::Queued
                    );
                }
            })
        })
        .collect();
    let writer = {
        let ob = ob.clone();
        tokio::spawn(async move {
            let mut seen = vec![Vec::new(); PRODUCERS];
            let mut out = Vec::new();
            while ob.next_batch(&mut out).await {
                for f in out.drain(..) {
                    if f[0] == 0x82 {
                        seen[f[2] as usize].push(usize::from(f[3]) | usize::from(f[4]) << 8);
                    }
                }
            }
            seen
        })
    };
    for p in producers {
        p.join().unwrap();
    }
    ob.close(1000, "");
    let seen = writer.await.unwrap();
    for per_producer in seen {
        // Every frame arrived, each producer's in its order.
        assert_eq!(per_producer, (0..EACH).collect::<Vec<_>>());
    }
}
