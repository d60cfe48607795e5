//! Cron jobs of a generation: standard 5-field expressions (croner), times in
//! UTC, and no overlapping runs of one job. The table is pure (the caller
//! gives the time), so the schedule is tested without waiting for a minute.
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use croner::Cron;
use parking_lot::Mutex;

pub use crate::support::cron::parse_cron;
use crate::support::error::CronError;

pub fn utc(t: SystemTime) -> DateTime<Utc> {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    DateTime::from_timestamp(d.as_secs() as i64, d.subsec_nanos()).unwrap_or_default()
}

struct Job {
    id: String,
    expr: String,
    cron: Cron,
    /// None until the generation is activated.
    next: Option<DateTime<Utc>>,
}

/// The jobs running now, by id. One set per [`Jsvm`](super::Jsvm), shared
/// by its generations: a job still running on a retired generation is not
/// started again by the next one.
#[derive(Default)]
pub struct Running(Mutex<HashSet<String>>);

impl Running {
    fn try_start(self: &Arc<Self>, id: &str) -> Option<CronRun> {
        self.0.lock().insert(id.to_owned()).then(|| CronRun {
            running: self.clone(),
            id: id.to_owned(),
        })
    }

    #[cfg(test)]
    pub fn is_running(&self, id: &str) -> bool {
        self.0.lock().contains(id)
    }
}

/// One run of a job. Dropping it ends the run, wherever it is: answered,
/// expired in the queue, refused by a full pool, or held by a worker that
/// was abandoned or died.
pub struct CronRun {
    running: Arc<Running>,
    id: String,
}

impl CronRun {
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for CronRun {
    fn drop(&mut self) {
        self.running.0.lock().remove(&self.id);
    }
}

impl fmt::Debug for CronRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronRun({:?})", self.id)
    }
}

/// The generation's jobs. `cronRemove` from any runtime edits it.
pub struct CronTable {
    jobs: Mutex<Vec<Job>>,
    running: Arc<Running>,
}

impl CronTable {
    pub fn new(running: Arc<Running>) -> CronTable {
        CronTable {
            jobs: Mutex::new(Vec::new()),
            running,
        }
    }

    /// Adds a job; it is scheduled when the generation is [activated](Self::activate).
    pub fn add(&self, id: &str, expr: &str) -> Result<(), CronError> {
        let cron = parse_cron(expr)?;
        let mut jobs = self.jobs.lock();
        jobs.retain(|j| j.id != id);
        jobs.push(Job {
            id: id.into(),
            expr: expr.into(),
            cron,
            next: None,
        });
        Ok(())
    }

    /// The generation became current: each job's first run is its first
    /// match after `now` (not after the build, which may have been long before).
    pub fn activate(&self, now: DateTime<Utc>) {
        for job in self.jobs.lock().iter_mut() {
            job.next = job.cron.find_next_occurrence(&now, false).ok();
        }
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

    /// Jobs due at `now` that are not still running (in any generation);
    /// their next time moves past `now`. Dropping a [`CronRun`] ends it.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<CronRun> {
        let mut out = Vec::new();
        for job in self.jobs.lock().iter_mut() {
            let Some(next) = job.next else { continue };
            if next > now {
                continue;
            }
            job.next = job.cron.find_next_occurrence(&now, false).ok();
            match self.running.try_start(&job.id) {
                Some(run) => out.push(run),
                None => {
                    tracing::warn!(job = %job.id, "jsvm: cron run skipped, the previous run is still going")
                }
            }
        }
        out
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
        assert!(six.is_bad_input());
        assert!(six.to_string().contains("5 fields"), "{six}");
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_cron("* * *").is_err());
    }

    #[test]
    fn due_jobs_run_once_and_do_not_overlap() {
        let t = CronTable::new(Arc::default());
        t.add("a", "*/5 * * * *").expect("valid");
        assert!(
            t.due(at("2025-01-01T00:05:00Z")).is_empty(),
            "not scheduled before activation"
        );
        t.activate(at("2025-01-01T00:01:00Z"));
        assert!(t.due(at("2025-01-01T00:04:59Z")).is_empty());
        assert_eq!(
            t.wait(at("2025-01-01T00:04:00Z")),
            Some(Duration::from_secs(60))
        );
        let run = t.due(at("2025-01-01T00:05:00Z"));
        assert_eq!(run.iter().map(|r| r.id()).collect::<Vec<_>>(), vec!["a"]);
        // Still running at the next match: skipped.
        assert!(t.due(at("2025-01-01T00:10:00Z")).is_empty());
        drop(run);
        assert_eq!(t.due(at("2025-01-01T00:15:00Z")).len(), 1);
        assert!(t.remove("a"));
        assert!(t.due(at("2025-01-01T00:20:00Z")).is_empty());
        assert_eq!(t.wait(at("2025-01-01T00:20:00Z")), None);
    }

    #[test]
    fn a_job_does_not_overlap_itself_across_generations() {
        let running = Arc::new(Running::default());
        let old = CronTable::new(running.clone());
        old.add("j", "* * * * *").expect("valid");
        old.activate(at("2025-01-01T00:00:30Z"));
        let run = old.due(at("2025-01-01T00:01:00Z"));
        assert_eq!(run.len(), 1);
        // A reload: the new generation is activated later, with the same job.
        let new = CronTable::new(running.clone());
        new.add("j", "* * * * *").expect("valid");
        new.activate(at("2025-01-01T00:01:30Z"));
        assert!(
            new.due(at("2025-01-01T00:02:00Z")).is_empty(),
            "still running on the old generation"
        );
        drop(run);
        assert!(!running.is_running("j"));
        assert_eq!(new.due(at("2025-01-01T00:03:00Z")).len(), 1);
    }
}
