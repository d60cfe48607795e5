//! Errors as values: a load error (file, line, column) and what went wrong in
//! one execution, turned into the JSON reply the client gets (never a stack).
use std::fmt;

use hyper::header::{HeaderValue, RETRY_AFTER};
use hyper::StatusCode;

use crate::kernel::{Classify, ErrorKind, Reply};

/// Why a generation could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file, relative to its folder (e.g. `hello.pb.js`), or the folder.
    pub file: String,
    pub line: Option<u32>,
    pub col: Option<u32>,
    pub message: String,
}

impl LoadError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.into(),
            line: None,
            col: None,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file, "line": self.line, "col": self.col, "message": self.message
        })
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.col {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// The options were fine; the files did not load (or a thread did not start).
impl Classify for LoadError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Failed
    }
}

/// What ended an execution badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The deadline passed (interrupt, drain budget, outer timeout): 503.
    Timeout,
    /// The runtime ran out of memory: 500, runtime replaced.
    Memory,
    /// The JS stack overflowed: 500, runtime replaced.
    Stack,
    /// The script threw: 500.
    Thrown,
    /// The request body is not what the script asked for (`e.request.json()`): 400.
    BadRequest,
    /// Another execution broke the runtime this one was waiting on: 500.
    Reset,
    /// A Rust panic in a slice (caught): 500, runtime replaced.
    Panic,
}

impl Failure {
    /// Whether the runtime must be replaced after this.
    pub fn resets(self) -> bool {
        matches!(
            self,
            Failure::Timeout | Failure::Memory | Failure::Stack | Failure::Panic
        )
    }

    /// Classifies an exception that escaped to the top level (past the
    /// prelude's own `catch`), by what QuickJS itself throws, never by a
    /// substring a script could put in its own message: `thrown` is `None`
    /// for a thrown `null` (QuickJS's out-of-memory fallback), else the
    /// error's `(name, message)`. An `InternalError` whose message is exactly
    /// "out of memory" is the engine's OOM; a `RangeError` "Maximum call
    /// stack size exceeded" that reached the top is a stack overflow;
    /// anything else is a plain script error.
    pub fn classify(thrown: Option<(&str, &str)>) -> Failure {
        match thrown {
            None => Failure::Memory,
            Some(("InternalError", "out of memory")) => Failure::Memory,
            Some(("RangeError", "Maximum call stack size exceeded")) => Failure::Stack,
            Some(_) => Failure::Thrown,
        }
    }

    pub fn reply(self, message: &str) -> Reply {
        match self {
            Failure::Timeout => Reply::error(StatusCode::SERVICE_UNAVAILABLE, message),
            Failure::BadRequest => Reply::error(StatusCode::BAD_REQUEST, message),
            _ => Reply::error(StatusCode::INTERNAL_SERVER_ERROR, message),
        }
    }
}

/// 503 with `Retry-After: 1`: every runtime busy and the wait queue full (or waited too long).
pub fn busy_reply(message: &str) -> Reply {
    let mut r = Reply::error(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// The first `file:line:col` in a QuickJS stack (`    at f (a.pb.js:3:7)`),
/// for a file of ours (its name ends in `.js`).
pub fn parse_location(stack: &str) -> Option<(String, u32, u32)> {
    for line in stack.lines() {
        let t = line.trim().trim_start_matches("at ").trim_end_matches(')');
        let t = t.rsplit('(').next().unwrap_or(t).trim();
        let mut parts = t.rsplitn(3, ':');
        let (Some(col), Some(ln), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if let (Ok(l), Ok(c)) = (ln.parse::<u32>(), col.parse::<u32>()) {
            if file.ends_with(".js") || file.ends_with(".json") {
                return Some((file.to_string(), l, c));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_read_from_stacks() {
        let s = "    at boom (hooks/a.pb.js:3:7)\n    at <anonymous> (b.pb.js:1:1)\n";
        assert_eq!(parse_location(s), Some(("hooks/a.pb.js".into(), 3, 7)));
        assert_eq!(
            parse_location("    at x.pb.js:12:4\n"),
            Some(("x.pb.js".into(), 12, 4))
        );
        assert_eq!(
            parse_location("    at <prelude>:1:1\n    at native\n"),
            None
        );
    }

    #[test]
    fn classification_and_display() {
        assert_eq!(Failure::classify(None), Failure::Memory);
        assert_eq!(
            Failure::classify(Some(("InternalError", "out of memory"))),
            Failure::Memory
        );
        assert_eq!(
            Failure::classify(Some(("RangeError", "Maximum call stack size exceeded"))),
            Failure::Stack
        );
        // A script's own messages never reset the runtime.
        for (name, msg) in [
            ("Error", "out of memory"),
            ("Error", "x out of memory y"),
            ("InternalError", "out of memory (really)"),
            ("Error", "Maximum call stack size exceeded"),
            ("Error", "stack overflow"),
            ("undefined", ""),
        ] {
            assert_eq!(
                Failure::classify(Some((name, msg))),
                Failure::Thrown,
                "{name}: {msg}"
            );
        }
        assert_eq!(Failure::classify(Some(("Error", "nope"))), Failure::Thrown);
        let e = LoadError {
            file: "a.pb.js".into(),
            line: Some(2),
            col: Some(5),
            message: "SyntaxError: x".into(),
        };
        assert_eq!(e.to_string(), "a.pb.js:2:5: SyntaxError: x");
        assert_eq!(
            busy_reply("busy")
                .headers
                .get(RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }
}
