//! The metric series: one per (method, route), counters and a histogram made
//! of atomics, so that recording a request takes no lock.
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::Method;
use parking_lot::Mutex;

/// Distinct statuses counted per series; more are counted as `status="other"`.
pub const STATUS_SLOTS: usize = 16;

/// (method, route) series at most per plugin; requests of further ones are
/// not recorded (counted in [`Registry::overflow`]). Routes are few: this is
/// only a guard.
pub const MAX_SERIES: usize = 4096;

/// A status code and how many answers had it (code 0: slot free).
#[derive(Default)]
struct StatusSlot {
    code: AtomicU16,
    count: AtomicU64,
}

/// Everything recorded for one method on one route.
pub struct RouteSeries {
    pub method: Method,
    pub route: Box<str>,
    statuses: [StatusSlot; STATUS_SLOTS],
    status_other: AtomicU64,
    /// Per bucket (not cumulative); the last one is above the largest bound.
    buckets: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

/// A consistent-enough copy of one series, for rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSnapshot {
    pub method: String,
    pub route: String,
    /// (status label, count), by status.
    pub statuses: Vec<(String, u64)>,
    /// Cumulative counts, one per bound, then +Inf (= the count).
    pub cumulative: Vec<u64>,
    pub sum_seconds: f64,
}

impl RouteSeries {
    fn new(method: Method, route: &str, buckets: usize) -> RouteSeries {
        RouteSeries {
            method,
            route: route.into(),
            statuses: Default::default(),
            status_other: AtomicU64::new(0),
            buckets: (0..=buckets).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Whether this is the series of `method` on `route`.
    #[inline]
    pub fn is(&self, method: &Method, route: &str) -> bool {
        self.method == *method && &*self.route == route
    }

    /// Records one answer: its status and how long it took.
    pub fn observe(&self, bounds: &[f64], status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let i = bounds.partition_point(|&b| b < secs);
        if let Some(bucket) = self.buckets.get(i) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count_status(status);
    }

    fn count_status(&self, code: u16) {
        for slot in &self.statuses {
            let mut current = slot.code.load(Ordering::Acquire);
            if current == 0 {
                current =
                    match slot
                        .code
                        .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
                    {
                        Ok(_) => code,
                        Err(actual) => actual,
                    };
            }
            if current == code {
                slot.count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.status_other.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> SeriesSnapshot {
        let mut statuses: Vec<(u16, u64)> = self
            .statuses
            .iter()
            .map(|s| {
                (
                    s.code.load(Ordering::Acquire),
                    s.count.load(Ordering::Relaxed),
                )
            })
            .filter(|&(code, _)| code != 0)
            .collect();
        statuses.sort_unstable();
        let mut statuses: Vec<(String, u64)> = statuses
            .into_iter()
            .map(|(c, n)| (c.to_string(), n))
            .collect();
        let other = self.status_other.load(Ordering::Relaxed);
        if other > 0 {
            statuses.push(("other".into(), other));
        }
        let mut total = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                total += b.load(Ordering::Relaxed);
                total
            })
            .collect();
        SeriesSnapshot {
            method: self.method.as_str().to_owned(),
            route: self.route.to_string(),
            statuses,
            cumulative,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// Every series of one plugin, and the histogram bounds they share.
pub struct Registry {
    pub bounds: Box<[f64]>,
    series: Mutex<Vec<Arc<RouteSeries>>>,
    overflow: AtomicU64,
}

impl Registry {
    pub fn new(bounds: Vec<f64>) -> Registry {
        Registry {
            bounds: bounds.into(),
            series: Mutex::new(Vec::new()),
            overflow: AtomicU64::new(0),
        }
    }

    /// The series of `method` on `route`, created on first use; None when
    /// [`MAX_SERIES`] exist already. Takes the registry lock: layers keep
    /// what it returns.
    pub fn series(&self, method: &Method, route: &str) -> Option<Arc<RouteSeries>> {
        let mut all = self.series.lock();
        if let Some(s) = all.iter().find(|s| s.is(method, route)) {
            return Some(s.clone());
        }
        if all.len() >= MAX_SERIES {
            self.overflow.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let s = Arc::new(RouteSeries::new(method.clone(), route, self.bounds.len()));
        all.push(s.clone());
        Some(s)
    }

    /// Requests not recorded because there were too many series.
    pub fn overflow(&self) -> u64 {
        self.overflow.load(Ordering::Relaxed)
    }

    /// Every series, sorted by route then method.
    pub fn snapshot(&self) -> Vec<SeriesSnapshot> {
        let all: Vec<Arc<RouteSeries>> = self.series.lock().clone();
        let mut out: Vec<SeriesSnapshot> = all.iter().map(|s| s.snapshot()).collect();
        out.sort_by(|a, b| (&a.route, &a.method).cmp(&(&b.route, &b.method)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_upper_bounds_and_cumulative() {
        let r = Registry::new(vec![0.01, 0.1, 1.0]);
        let s = r.series(&Method::GET, "/a").unwrap();
        for ms in [5, 10, 50, 100, 500, 2000] {
            s.observe(&r.bounds, 200, Duration::from_millis(ms));
        }
        let snap = s.snapshot();
        assert_eq!(snap.cumulative, vec![2, 4, 5, 6]);
        assert!((snap.sum_seconds - 2.665).abs() < 1e-9);
        assert_eq!(snap.statuses, vec![("200".to_owned(), 6)]);
    }

    #[test]
    fn statuses_beyond_the_slots_are_other() {
        let r = Registry::new(vec![1.0]);
        let s = r.series(&Method::GET, "/a").unwrap();
        for code in 200..200 + STATUS_SLOTS as u16 + 3 {
            s.observe(&r.bounds, code, Duration::ZERO);
        }
        s.observe(&r.bounds, 200, Duration::ZERO);
        let snap = s.snapshot();
        assert_eq!(snap.statuses.len(), STATUS_SLOTS + 1);
        assert_eq!(snap.statuses[0], ("200".to_owned(), 2));
        assert_eq!(snap.statuses[STATUS_SLOTS], ("other".to_owned(), 3));
    }

    #[test]
    fn concurrent_observations_are_all_counted() {
        let r = Registry::new(vec![1.0]);
        let s = r.series(&Method::GET, "/a").unwrap();
        std::thread::scope(|scope| {
            for t in 0..4u16 {
                let (s, r) = (&s, &r);
                scope.spawn(move || {
                    for _ in 0..10_000 {
                        s.observe(&r.bounds, 200 + t, Duration::from_micros(1));
                    }
                });
            }
        });
        let snap = s.snapshot();
        assert_eq!(snap.cumulative, vec![40_000, 40_000]);
        assert_eq!(snap.statuses.len(), 4);
        assert!(snap.statuses.iter().all(|(_, n)| *n == 10_000));
    }

    #[test]
    fn one_series_per_method_and_route_and_a_cap() {
        let r = Registry::new(vec![1.0]);
        let a = r.series(&Method::GET, "/a").unwrap();
        assert!(Arc::ptr_eq(&a, &r.series(&Method::GET, "/a").unwrap()));
        assert!(!Arc::ptr_eq(&a, &r.series(&Method::POST, "/a").unwrap()));
        for i in 2..MAX_SERIES {
            r.series(&Method::GET, &format!("/r{i}")).unwrap();
        }
        assert!(r.series(&Method::GET, "/one-too-many").is_none());
        assert_eq!(r.overflow(), 1);
        assert!(r.series(&Method::GET, "/a").is_some());
    }
}
