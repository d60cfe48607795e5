//! Restart policy: the delay before the next start (doubling, capped) and the
//! crash-loop limit (too many restarts within a window → give up).
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::config::{BackoffSpec, CrashLoopSpec};

#[derive(Debug)]
pub struct Backoff {
    spec: BackoffSpec,
    next: Duration,
}

impl Backoff {
    pub fn new(spec: BackoffSpec) -> Backoff {
        Backoff {
            spec,
            next: spec.initial,
        }
    }

    /// The delay to wait now; the one after is doubled (up to the maximum).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(self.spec.max);
        delay
    }

    /// After a worker became ready, its next crash waits the initial delay again.
    pub fn reset(&mut self) {
        self.next = self.spec.initial;
    }
}

/// The restarts within the last `window`.
#[derive(Debug)]
pub struct CrashWindow {
    spec: CrashLoopSpec,
    restarts: VecDeque<Instant>,
}

impl CrashWindow {
    pub fn new(spec: CrashLoopSpec) -> CrashWindow {
        CrashWindow {
            spec,
            restarts: VecDeque::new(),
        }
    }

    /// A crash at `now`: `Ok(())` when one more restart is allowed (and
    /// counted), `Err(message)` when the limit is reached.
    pub fn crashed(&mut self, now: Instant) -> Result<(), String> {
        while let Some(&first) = self.restarts.front() {
            if now.saturating_duration_since(first) >= self.spec.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        if self.restarts.len() >= self.spec.max_restarts {
            return Err(format!(
                "gave up after {} restart{} within {}",
                self.restarts.len(),
                if self.restarts.len() == 1 { "" } else { "s" },
                super::error::human(self.spec.window)
            ));
        }
        self.restarts.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_maximum_and_resets() {
        let mut b = Backoff::new(BackoffSpec {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
        });
        let got: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn crashes_beyond_the_limit_within_the_window_give_up() {
        let spec = CrashLoopSpec {
            max_restarts: 2,
            window: Duration::from_secs(10),
        };
        let mut w = CrashWindow::new(spec);
        let t0 = Instant::now();
        assert!(w.crashed(t0).is_ok());
        assert!(w.crashed(t0 + Duration::from_secs(1)).is_ok());
        let e = w.crashed(t0 + Duration::from_secs(2)).unwrap_err();
        assert_eq!(e, "gave up after 2 restarts within 10 s");
        // The first restart leaves the window: one more is allowed.
        let mut w = CrashWindow::new(spec);
        assert!(w.crashed(t0).is_ok());
        assert!(w.crashed(t0 + Duration::from_secs(5)).is_ok());
        assert!(w.crashed(t0 + Duration::from_secs(11)).is_ok());
        assert!(w.crashed(t0 + Duration::from_secs(12)).is_err());
    }

    #[test]
    fn zero_restarts_gives_up_at_the_first_crash() {
        let mut w = CrashWindow::new(CrashLoopSpec {
            max_restarts: 0,
            window: Duration::from_secs(1),
        });
        assert!(w.crashed(Instant::now()).is_err());
    }
}
