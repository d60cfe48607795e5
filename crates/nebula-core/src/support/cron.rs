//! Cron expressions: the one parser of the script VM's cron jobs and the
//! schedule plugin's leases (standard 5 fields, croner).
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use super::error::CronError;

/// Parses a standard 5-field expression (`*/5 * * * *`, also `@hourly` …).
pub fn parse_cron(expr: &str) -> Result<Cron, CronError> {
    if expr.split_whitespace().count() != 5 && !expr.trim_start().starts_with('@') {
        return Err(CronError::FieldCount {
            expr: expr.to_owned(),
        });
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|source| CronError::Syntax {
            expr: expr.to_owned(),
            source,
        })
}
