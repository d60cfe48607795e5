//! Leaf utilities: they import nothing else of the crate, and anything may use them.
pub mod cron;
pub mod error;
pub mod ids;
pub mod json_text;
pub mod options;
pub mod prometheus;
pub mod wake_queue;
