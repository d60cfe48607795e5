//! Cron jobs of a generation: standard 5-field expressions (croner), times in
//! UTC, and no overlapping runs of one job. The table is pure (the caller
//! gives the time), so the schedule is tested without waiting for a minute.
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use parking_lot::Mutex;

/// Parses a standard 5-field expression (`*/5 * * * *`, also `@hourly` …).
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    if expr.split_whitespace().count() != 5 && !expr.trim_start().starts_with('@') {
        return Err(format!(
            "invalid cron expression {expr:?}: expected 5 fields (minute hour day month weekday)"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))
}

pub fn utc(t: SystemTime) -> DateTime<Utc> {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    DateTime::from_timestamp(d.as_secs() as i64, d.subsec_nanos()).unwrap_or_default()
}

struct Job {
    id: String,
    expr: String,
    cron: Cron,
    next: Option<DateTime<Utc>>,
    running: bool,
}

/// The generation's jobs. `cronRemove` from any runtime edits it.
#[derive(Default)]
pub struct CronTable {
    jobs: Mutex<Vec<Job>>,
}

impl CronTable {
    /// Adds a job (its first run is the first match after `now`).
    pub fn add(&self, id: &str, expr: &str, now: DateTime<Utc>) -> Result<(), String> {
        let cron = parse_cron(expr)?;
        let next = cron.find_next_occurrence(&now, false).ok();
        let mut jobs = self.jobs.lock();
        jobs.retain(|j| j.id != id);
        jobs.push(Job {
            id: id.into(),
            expr: expr.into(),
            cron,
            next,
            running: false,
        });
        Ok(())
    }

    pub fn remove(&self, id: &str) -> bool {
        let mut jobs = self.jobs.lock();
        let before = jobs.len();
        jobs.retain(|j| j.id != id);
        jobs.len() != before
    }

    pub fn clear(&self) {
        self.jobs.lock().clear();
    }

    /// Jobs due at `now` that are not still running; they are marked running
    /// and their next time moves past `now`.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut out = Vec::new();
        for job in self.jobs.lock().iter_mut() {
            let Some(next) = job.next else { continue };
            if next > now {
                continue;
            }
            job.next = job.cron.find_next_occurrence(&now, false).ok();
            if job.running {
                tracing::warn!(job = %job.id, "jsvm: cron run skipped, the previous run is still going");
                continue;
            }
            job.running = true;
            out.push(job.id.clone());
        }
        out
    }

    /// A run of `id` ended.
    pub fn finished(&self, id: &str) {
        if let Some(j) = self.jobs.lock().iter_mut().find(|j| j.id == id) {
            j.running = false;
        }
    }

    /// Time until the earliest next run (None: no jobs).
    pub fn wait(&self, now: DateTime<Utc>) -> Option<Duration> {
        let jobs = self.jobs.lock();
        let next = jobs.iter().filter_map(|j| j.next).min()?;
        Some((next - now).to_std().unwrap_or(Duration::ZERO))
    }

    pub fn list(&self) -> Vec<(String, String, Option<DateTime<Utc>>)> {
        let jobs = self.jobs.lock();
        jobs.iter()
            .map(|j| (j.id.clone(), j.expr.clone(), j.next))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn five_fields_only() {
        assert!(parse_cron("*/5 * * * *").is_ok());
        assert!(parse_cron("@hourly").is_ok());
        let six = parse_cron("0 */5 * * * *").unwrap_err();
        assert!(six.contains("5 fields"), "{six}");
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_cron("* * *").is_err());
    }

    #[test]
    fn due_jobs_run_once_and_do_not_overlap() {
        let t = CronTable::default();
        t.add("a", "*/5 * * * *", at("2025-01-01T00:01:00Z"))
            .expect("valid");
        assert!(t.due(at("2025-01-01T00:04:59Z")).is_empty());
        assert_eq!(
            t.wait(at("2025-01-01T00:04:00Z")),
            Some(Duration::from_secs(60))
        );
        assert_eq!(t.due(at("2025-01-01T00:05:00Z")), vec!["a"]);
        // Still running at the next match: skipped.
        assert!(t.due(at("2025-01-01T00:10:00Z")).is_empty());
        t.finished("a");
        assert_eq!(t.due(at("2025-01-01T00:15:00Z")), vec!["a"]);
        assert!(t.remove("a"));
        assert!(t.due(at("2025-01-01T00:20:00Z")).is_empty());
        assert_eq!(t.wait(at("2025-01-01T00:20:00Z")), None);
    }
}
