//! LoggerPlugin (LOGGING): a structured access log written from Rust, and
//! `X-Request-Id` propagated or generated.
//!
//! `before` takes the client's request id when it is sane (1–128 visible
//! ASCII characters) or generates one, hands it to JavaScript as
//! `ctx.get("requestId")` and keeps it in the scratch space;
//! `after` sets the response header and emits one access-log line: a
//! `tracing` event (target `nebula::access`) for whoever installed a
//! subscriber, and a line printed by the plugin's own non-blocking writer
//! (no subscriber needed; a full queue drops lines instead of blocking).
mod format;
pub mod request_id;
mod writer;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::header::HeaderName;
use serde_json::Value;

use super::PluginError;
use crate::kernel::{Flow, LayerCtx, LayerError, NativeLayer, NativePlugin, Reply};
use format::AccessRecord;
use request_id::Pending;
use writer::{NonBlockingWriter, StdStream, DEFAULT_CAPACITY};

/// The `tracing` target of access-log events.
pub const TARGET: &str = "nebula::access";

/// The key of the request id in `ctx.locals` (`ctx.get("requestId")` in JS).
pub use crate::kernel::locals::REQUEST_ID as LOCALS_KEY;

/// How a line looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Pretty,
}

/// One handler's settings: the plugin's, overridden by module and route options.
#[derive(Debug, Clone)]
struct Settings {
    format: Format,
    header: HeaderName,
    /// `accessLog: false`: keep the request id, print nothing.
    log: bool,
}

/// The plugin: its settings and the writer thread every layer shares.
pub struct LoggerPlugin {
    defaults: Settings,
    writer: Arc<NonBlockingWriter>,
}

/// Creates the plugin from `{ format, requestIdHeader, output }`.
pub fn create(options: &Value) -> Result<Arc<dyn NativePlugin>, PluginError> {
    let output = match field(options, "output")? {
        None => StdStream::Stdout,
        Some(Value::String(s)) if s == "stdout" => StdStream::Stdout,
        Some(Value::String(s)) if s == "stderr" => StdStream::Stderr,
        Some(_) => return Err(r#"logger option "output" must be "stdout" or "stderr""#.into()),
    };
    Ok(Arc::new(LoggerPlugin::with_writer(
        options,
        Box::new(output),
        DEFAULT_CAPACITY,
    )?))
}

impl LoggerPlugin {
    /// The plugin writing its lines to `out` (tests pass a Vec-backed writer),
    /// queueing at most `capacity` lines.
    pub fn with_writer(
        options: &Value,
        out: Box<dyn Write + Send>,
        capacity: usize,
    ) -> Result<LoggerPlugin, PluginError> {
        let defaults = Settings {
            format: Format::Json,
            header: HeaderName::from_static("x-request-id"),
            log: true,
        };
        let defaults = settings(options, &defaults)?;
        let writer =
            NonBlockingWriter::new(out, capacity).map_err(|source| PluginError::Spawn {
                plugin: "logger",
                what: "writer thread",
                source,
            })?;
        Ok(LoggerPlugin {
            defaults,
            writer: Arc::new(writer),
        })
    }

    /// Lines dropped so far because the queue was full or the output failed.
    pub fn dropped(&self) -> u64 {
        self.writer.dropped()
    }

    /// Waits (up to `timeout`) until the lines queued so far are written.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.writer.flush(timeout)
    }
}

impl NativePlugin for LoggerPlugin {
    fn flush(&self, timeout: Duration) {
        if !LoggerPlugin::flush(self, timeout) {
            tracing::warn!("logger: lines still queued when the engine stopped");
        }
    }

    fn layer(&self, options: &Value) -> Result<Option<Arc<dyn NativeLayer>>, LayerError> {
        Ok(Some(Arc::new(LoggerLayer {
            settings: settings(options, &self.defaults)?,
            writer: self.writer.clone(),
        })))
    }
}

/// `options[key]`, None when absent or null; Err when `options` is not an object.
fn field<'a>(options: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match options {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(map.get(key).filter(|v| !v.is_null())),
        _ => Err("logger options must be an object".into()),
    }
}

/// `base` with `format`, `requestIdHeader` and `accessLog` from `options`.
fn settings(options: &Value, base: &Settings) -> Result<Settings, String> {
    let mut s = base.clone();
    match field(options, "format")? {
        None => {}
        Some(Value::String(f)) if f == "json" => s.format = Format::Json,
        Some(Value::String(f)) if f == "pretty" => s.format = Format::Pretty,
        Some(_) => return Err(r#"logger option "format" must be "json" or "pretty""#.into()),
    }
    match field(options, "requestIdHeader")? {
        None => {}
        Some(Value::String(h)) => {
            s.header = HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                format!(r#"logger option "requestIdHeader" is not a valid header name: {h:?}"#)
            })?;
        }
        Some(_) => return Err(r#"logger option "requestIdHeader" must be a string"#.into()),
    }
    match field(options, "accessLog")? {
        None => {}
        Some(Value::Bool(b)) => s.log = *b,
        Some(_) => return Err(r#"logger option "accessLog" must be a boolean"#.into()),
    }
    Ok(s)
}

/// One handler's layer.
struct LoggerLayer {
    settings: Settings,
    writer: Arc<NonBlockingWriter>,
}

impl NativeLayer for LoggerLayer {
    fn name(&self) -> &'static str {
        "logger"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        let id = match ctx.headers.get(&self.settings.header) {
            Some(v) if request_id::is_sane(v.as_bytes()) => v.clone(),
            _ => request_id::generate(),
        };
        // Sane and generated ids are visible ASCII: to_str cannot fail.
        let text = id.to_str().unwrap_or_default().to_owned();
        ctx.locals
            .push((LOCALS_KEY.to_owned(), Value::String(text)));
        ctx.scratch.insert(Pending {
            id,
            started: ctx.started,
        });
        Flow::Continue
    }

    fn after(&self, ctx: &LayerCtx<'_>, reply: &mut Reply) {
        let (id, started) = match ctx.scratch.get::<Pending>() {
            Some(p) => (p.id.clone(), p.started.min(ctx.started)),
            None => (request_id::generate(), ctx.started),
        };
        if self.settings.log {
            let record = AccessRecord {
                time: SystemTime::now(),
                method: ctx.method.as_str(),
                path: ctx.path,
                route: ctx.route,
                status: reply.status.as_u16(),
                duration: started.elapsed(),
                bytes: match reply.stream {
                    None => reply.body.len(),
                    // Streamed: the length the worker declared, if any.
                    Some(_) => reply
                        .headers
                        .get(hyper::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse().ok())
                        .unwrap_or(0),
                },
                request_id: id.to_str().unwrap_or_default(),
                peer: ctx.peer,
            };
            emit(&record);
            self.writer.send(match self.settings.format {
                Format::Json => record.json(),
                Format::Pretty => record.pretty(),
            });
        }
        reply.headers.insert(self.settings.header.clone(), id);
    }
}

/// The `tracing` event (costs a cached callsite check when nobody listens).
fn emit(r: &AccessRecord<'_>) {
    tracing::info!(
        target: TARGET,
        method = r.method,
        path = r.path,
        route = r.route,
        status = r.status,
        duration_ms = r.duration_ms(),
        bytes = r.bytes as u64,
        request_id = r.request_id,
        peer = r.peer.map(tracing::field::display),
        "request"
    );
}

#[cfg(test)]
mod tests;
