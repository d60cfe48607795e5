//! Where the engine's own `tracing` events go when nothing else listens:
//! warnings and errors of nebula's targets, one line each on stderr
//! (`nebula WARN hub cluster: bus connection lost … bus="redis"`).
//! `NEBULA_LOG` sets the level (`off`, `error`, `warn` (default), `info`,
//! `debug`); the access log keeps its own writer (LoggerPlugin).
use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata};

struct StderrLog {
    max: Level,
}

/// The message first, then `key=value` for the other fields.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl tracing::Subscriber for StderrLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max && metadata.target().starts_with("nebula")
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &Event<'_>) {
        // The access log has its own writer; its events are for other subscribers.
        if event.metadata().target() == "nebula::access" {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        let _ = writeln!(
            std::io::stderr().lock(),
            "nebula {} {}{}",
            event.metadata().level(),
            line.message,
            line.fields
        );
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Installs the stderr log unless `NEBULA_LOG=off` or a global subscriber exists.
pub fn install() {
    // The addon's init also runs in this crate's test binaries: their own output stays theirs.
    if cfg!(test) {
        return;
    }
    let max = match std::env::var("NEBULA_LOG").as_deref().map(str::trim) {
        Ok("off") => return,
        Ok("error") => Level::ERROR,
        Ok("info") => Level::INFO,
        Ok("debug") => Level::DEBUG,
        Ok("trace") => Level::TRACE,
        _ => Level::WARN,
    };
    let _ = tracing::subscriber::set_global_default(StderrLog { max });
}
