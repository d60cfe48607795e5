//! Errors of the option readers and the cron parser. Both are always the
//! caller's input (an option's value, a cron expression): the modules that
//! read options wrap them in their own `Invalid…` variant, which the binding
//! reports as `InvalidArg`. (`support` imports nothing of the crate, so these
//! do not implement `kernel::Classify`; [`OptionError::is_bad_input`] and
//! [`CronError::is_bad_input`] say the same.)

/// An integer option out of its range (or not an integer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be an integer from {min} to {max}, got {got}")]
pub struct OptionError {
    /// The option's name.
    pub name: String,
    pub min: u64,
    pub max: u64,
    /// The value as given (JSON text).
    pub got: String,
}

impl OptionError {
    /// Always: the option's value was wrong.
    pub fn is_bad_input(&self) -> bool {
        true
    }
}

/// A cron expression that cannot be parsed.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    #[error("invalid cron expression {expr:?}: expected 5 fields (minute hour day month weekday)")]
    FieldCount { expr: String },
    #[error("invalid cron expression {expr:?}: {source}")]
    Syntax {
        expr: String,
        #[source]
        source: croner::errors::CronError,
    },
}

impl CronError {
    /// Always: the expression was wrong.
    pub fn is_bad_input(&self) -> bool {
        true
    }
}
