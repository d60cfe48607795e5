use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::*;

/// A waker counting its calls (and refusing while `refuse` is set).
#[derive(Clone, Default)]
struct Counter {
    calls: Arc<AtomicUsize>,
    refuse: Arc<AtomicBool>,
}

impl Counter {
    fn waker(&self) -> impl Waker {
        let me = self.clone();
        move || {
            me.calls.fetch_add(1, Ordering::SeqCst);
            if me.refuse.load(Ordering::SeqCst) {
                return Err(WakeRefused("Closing".into()));
            }
            Ok(())
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Strings cost their length; the empty string costs nothing (always queued).
fn bound(items: usize, bytes: usize) -> Bound<String> {
    Bound {
        items,
        bytes,
        cost: |s| (!s.is_empty()).then_some(s.len()),
    }
}

#[test]
fn many_pushes_ride_on_one_wake_up_and_taking_re_arms_it() {
    let wakes = Counter::default();
    let q = WakeQueue::new(Bound::none(), wakes.waker());
    for i in 0..10 {
        q.push(i).expect("queued and woken");
    }
    assert_eq!(wakes.calls(), 1, "one wake-up for ten pushes");
    assert_eq!(q.take_all(), (0..10).collect::<Vec<_>>());
    assert!(q.take_all().is_empty(), "taken once");
    q.push(10).expect("queued");
    assert_eq!(wakes.calls(), 2, "a push after a take wakes again");
    assert_eq!(q.take_all(), [10]);
}

#[test]
fn a_full_queue_refuses_what_counts_and_taking_frees_room() {
    let wakes = Counter::default();
    let q = WakeQueue::new(bound(2, 1000), wakes.waker());
    q.push("a".into()).expect("room");
    q.push("b".into()).expect("room");
    assert_eq!(q.push("c".into()), Err(PushError::Full));
    // Items without a cost are never refused.
    q.push(String::new()).expect("not counted");
    assert_eq!(q.len(), 3, "the refused item was not queued");
    assert_eq!(q.take_all(), ["a", "b", ""]);
    q.push("c".into()).expect("room again after the take");
    assert_eq!(q.take_all(), ["c"]);
}

#[test]
fn the_byte_bound_counts_what_waits() {
    let q = WakeQueue::new(bound(100, 10), Counter::default().waker());
    q.push("12345".into()).expect("5 of 10");
    q.push("1234".into()).expect("9 of 10");
    assert_eq!(q.push("12".into()), Err(PushError::Full), "11 > 10");
    q.push("1".into()).expect("exactly 10");
    assert_eq!(q.take_all().len(), 3);
    q.push("1234567890".into())
        .expect("the bytes were given back");
}

#[test]
fn a_refused_wake_up_keeps_the_item_and_the_next_push_tries_again() {
    let wakes = Counter::default();
    let q = WakeQueue::new(Bound::none(), wakes.waker());
    wakes.refuse.store(true, Ordering::SeqCst);
    assert_eq!(
        q.push(1),
        Err(PushError::Refused(WakeRefused("Closing".into())))
    );
    wakes.refuse.store(false, Ordering::SeqCst);
    q.push(2).expect("woken this time");
    assert_eq!(
        wakes.calls(),
        2,
        "the refusal did not leave a wake-up marked on its way"
    );
    assert_eq!(q.take_all(), [1, 2], "nothing lost");
}

#[test]
fn enqueue_then_wake_sends_one_wake_up_for_the_round() {
    let wakes = Counter::default();
    let q = WakeQueue::new(Bound::none(), wakes.waker());
    for i in 0..5 {
        q.enqueue(i).expect("queued");
    }
    assert_eq!(wakes.calls(), 0, "enqueue() does not wake");
    q.wake().expect("woken");
    q.wake().expect("already on its way");
    assert_eq!(wakes.calls(), 1);
    assert_eq!(q.take_all().len(), 5);
}

#[test]
fn a_batch_takes_what_fits_its_budget_and_wakes_again_for_the_rest() {
    let wakes = Counter::default();
    let q = WakeQueue::new(bound(100, 1000), wakes.waker());
    for s in ["aaaa", "bbbb", "cccc", "d"] {
        q.push(s.into()).expect("queued");
    }
    assert_eq!(wakes.calls(), 1);
    assert_eq!(q.take_within(9, |s| s.len()), ["aaaa", "bbbb"]);
    assert_eq!(wakes.calls(), 2, "the rest got a wake-up of its own");
    assert_eq!(q.len(), 2);
    // What was taken no longer counts against the bound.
    q.push("x".repeat(990))
        .expect("room for 990 bytes beside the 5 left");
    assert_eq!(q.take_within(9, |s| s.len()), ["cccc", "d"]);
    assert_eq!(
        q.take_within(9, |s| s.len()).len(),
        1,
        "larger than the budget: alone"
    );
    assert!(q.is_empty());
}

#[test]
fn an_item_larger_than_the_budget_still_goes_alone() {
    let q = WakeQueue::new(Bound::none(), Counter::default().waker());
    q.push(100usize).expect("queued");
    q.push(1usize).expect("queued");
    assert_eq!(q.take_within(10, |n| *n), [100]);
    assert_eq!(q.take_within(10, |n| *n), [1]);
}

/// Producers on several threads, an owner that takes only when woken: every
/// item arrives, however pushes and takes interleave.
#[test]
fn no_item_is_lost_between_a_wake_up_and_the_take() {
    const THREADS: usize = 4;
    const EACH: usize = 5_000;
    let (woken, wake_ups) = mpsc::channel::<()>();
    let woken = parking_lot::Mutex::new(woken);
    let q = Arc::new(WakeQueue::new(Bound::none(), move || {
        let _ = woken.lock().send(());
        Ok(())
    }));
    let producers: Vec<_> = (0..THREADS)
        .map(|t| {
            let q = q.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    q.push(t * EACH + i).expect("queued");
                }
            })
        })
        .collect();
    let mut seen = vec![false; THREADS * EACH];
    let mut received = 0;
    let mut wakes = 0;
    while received < THREADS * EACH {
        wake_ups
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| {
                panic!(
                    "no wake-up came while {received} of {} had arrived",
                    THREADS * EACH
                )
            });
        wakes += 1;
        for n in q.take_all() {
            assert!(!seen[n], "{n} taken twice");
            seen[n] = true;
            received += 1;
        }
    }
    for p in producers {
        p.join().expect("producer");
    }
    assert!(q.is_empty());
    assert!(wakes <= THREADS * EACH, "at most one wake-up per push");
}
