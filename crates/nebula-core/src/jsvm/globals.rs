//! The Rust natives of a runtime: `__native` (taken by the prelude), and the
//! `console`/`log` objects, which are native so that a line can be tagged with
//! the file of the script that called them.
use std::rc::Rc;

use rquickjs::context::EvalOptions;
use rquickjs::function::IntoJsFunc;
use rquickjs::prelude::Rest;
use rquickjs::{Ctx, Exception, Function, Object, Result, Value};

use super::cron::parse_cron;
use super::errors::Failure;
use super::host::{Host, NewTimer, Outcome};

/// Wraps a CommonJS file on its first line, so line numbers stay right (the
/// columns of line 1 are off by its length, see [`WRAP_HEAD_LEN`]).
const WRAP_HEAD: &str = "(function (exports, require, module, __filename, __dirname) {";
/// Columns to take off a location on line 1 of a file.
pub const WRAP_HEAD_LEN: u32 = WRAP_HEAD.len() as u32;
/// Longest log line (bytes) a script can produce.
const MAX_LOG: usize = 8 << 10;
/// File name of the prelude in stacks.
pub const PRELUDE_NAME: &str = "<jsvm prelude>";

/// Sets `o[name]` to a native function.
pub(super) fn define<'js, P, F>(o: &Object<'js>, name: &str, f: F) -> Result<()>
where
    F: IntoJsFunc<'js, P> + 'js,
{
    o.set(name, Function::new(o.ctx().clone(), f)?)
}

pub fn install<'js>(ctx: &Ctx<'js>, host: &Rc<Host>) -> Result<()> {
    let n = Object::new(ctx.clone())?;
    n.set("maxArrayLength", host.max_array_len)?;
    n.set("maxHeaders", super::reply::MAX_HEADERS as f64)?;
    define(&n, "isProxy", |v: Value<'js>| v.is_proxy())?;
    let h = host.clone();
    define(&n, "deadline", move |ctx: Ctx<'js>| -> Result<()> {
        if h.gate.late() {
            return Err(Exception::throw_internal(
                &ctx,
                "the script ran past its deadline",
            ));
        }
        Ok(())
    })?;
    let h = host.clone();
    define(&n, "exists", move |p: String| {
        h.snapshot.files.contains_key(&p)
    })?;
    let h = host.clone();
    define(&n, "source", move |ctx: Ctx<'js>, p: String| {
        match h.snapshot.source(&p) {
            Some(s) => Ok(s.to_string()),
            None => Err(Exception::throw_message(&ctx, &format!("no file {p:?}"))),
        }
    })?;
    let h = host.clone();
    define(
        &n,
        "evalModule",
        move |ctx: Ctx<'js>, p: String| -> Result<Value<'js>> {
            let Some(src) = h.snapshot.source(&p) else {
                return Err(Exception::throw_message(&ctx, &format!("no file {p:?}")));
            };
            let mut o = EvalOptions::default();
            o.filename = Some(p);
            o.strict = false;
            ctx.eval_with_options(format!("{WRAP_HEAD}{src}\n}})"), o)
        },
    )?;
    let h = host.clone();
    define(
        &n,
        "done",
        move |id: f64, status: f64, ctype: String, body: String, headers: String| {
            h.outbox.borrow_mut().push(Outcome::Done {
                id: id as u64,
                status: status as u16,
                ctype,
                body,
                headers,
            });
        },
    )?;
    let h = host.clone();
    define(
        &n,
        "fail",
        move |id: f64, kind: String, message: String, stack: String| {
            let failure = match kind.as_str() {
                "bad_request" => Failure::BadRequest,
                "memory" => Failure::Memory,
                // Caught by the prelude, so the stack unwound: a plain
                // script error, whatever its message says.
                _ => Failure::Thrown,
            };
            h.outbox.borrow_mut().push(Outcome::Failed {
                id: id as u64,
                failure,
                message,
                stack,
            });
        },
    )?;
    let h = host.clone();
    define(&n, "timer", move |ctx: Ctx<'js>, ms: f64| -> Result<f64> {
        let Some(exec) = h.current.get() else {
            return Err(Exception::throw_message(
                &ctx,
                "sleep() works only in a handler, not while the files load",
            ));
        };
        let timer = h.timer_id();
        let ms = if ms.is_finite() {
            ms.clamp(0.0, 86_400_000.0)
        } else {
            0.0
        };
        let mut after = std::time::Duration::from_secs_f64(ms / 1000.0);
        // Never past the execution's deadline (it ends there anyway).
        if let Some(d) = h.deadline.get() {
            after = after.min(d.saturating_duration_since(std::time::Instant::now()));
        }
        h.new_timers
            .borrow_mut()
            .push(NewTimer { exec, timer, after });
        Ok(timer as f64)
    })?;
    let h = host.clone();
    define(&n, "emit", move |name: String, json: String| {
        h.events.emitted(&name, &json);
    })?;
    n.set(
        "uuid",
        Function::new(ctx.clone(), crate::support::ids::uuid_v4)?.with_name("uuid")?,
    )?;
    define(&n, "cronCheck", |expr: String| match parse_cron(&expr) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    })?;
    let h = host.clone();
    define(&n, "cronRemove", move |id: String| h.cron.remove(&id))?;
    let h = host.clone();
    define(&n, "pluginEnabled", move |id: String| {
        h.plugins.enabled(&id)
    })?;
    if let Some(hub) = &host.hub {
        super::hub_api::install(ctx, &n, hub)?;
    }
    ctx.globals().set("__native", n)?;
    install_logs(ctx)?;
    #[cfg(test)]
    {
        let h = host.clone();
        ctx.globals().set(
            "__panicAfter",
            Function::new(ctx.clone(), move || h.panic_after.set(true))?,
        )?;
    }
    #[cfg(test)]
    ctx.globals().set(
        "__block",
        Function::new(ctx.clone(), |ms: f64| {
            std::thread::sleep(std::time::Duration::from_millis(ms as u64))
        })?,
    )?;
    Ok(())
}

fn install_logs<'js>(ctx: &Ctx<'js>) -> Result<()> {
    let console = Object::new(ctx.clone())?;
    let log = Object::new(ctx.clone())?;
    let levels = [
        ("log", tracing::Level::INFO),
        ("info", tracing::Level::INFO),
        ("debug", tracing::Level::DEBUG),
        ("trace", tracing::Level::DEBUG),
        ("warn", tracing::Level::WARN),
        ("error", tracing::Level::ERROR),
    ];
    for (name, level) in levels {
        let f = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
            let file = calling_file(&ctx);
            let text = format_args(&ctx, &args.0);
            emit_log(level, &file, &text);
        })?
        .with_name(name)?;
        console.set(name, f.clone())?;
        if name != "log" && name != "trace" {
            log.set(name, f)?;
        }
    }
    ctx.globals().set("console", console)?;
    ctx.globals().set("log", log)?;
    Ok(())
}

/// Every script log line of this test process, as (level, file, text): the
/// tests read it here, since a `tracing` subscriber scoped to one test races
/// with the callsite interest cache that tests running beside it share.
#[cfg(test)]
pub(crate) static TEST_LOG: parking_lot::Mutex<Vec<(String, String, String)>> =
    parking_lot::Mutex::new(Vec::new());

/// One script log line into `tracing` (target `nebula::jsvm`, field `file`).
pub fn emit_log(level: tracing::Level, file: &str, text: &str) {
    #[cfg(test)]
    TEST_LOG
        .lock()
        .push((level.to_string(), file.to_owned(), text.to_owned()));
    match level {
        tracing::Level::ERROR => tracing::error!(target: "nebula::jsvm", file, "{text}"),
        tracing::Level::WARN => tracing::warn!(target: "nebula::jsvm", file, "{text}"),
        tracing::Level::INFO => tracing::info!(target: "nebula::jsvm", file, "{text}"),
        _ => tracing::debug!(target: "nebula::jsvm", file, "{text}"),
    }
}

/// The file of the nearest script frame that is not the prelude.
fn calling_file(ctx: &Ctx<'_>) -> String {
    for level in 0..8 {
        if let Some(name) = ctx
            .script_or_module_name(level)
            .and_then(|a| a.to_string().ok())
        {
            if !name.is_empty() && name != PRELUDE_NAME {
                return name;
            }
        }
    }
    "?".into()
}

fn format_args<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let mut out = String::new();
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Some(s) = v.as_string().and_then(|s| s.to_string().ok()) {
            out.push_str(&s);
        } else if let Some(e) = v
            .as_object()
            .and_then(|o| Exception::from_object(o.clone()))
        {
            out.push_str(&e.message().unwrap_or_default());
        } else {
            match ctx.json_stringify(v.clone()) {
                Ok(Some(s)) => out.push_str(&s.to_string().unwrap_or_default()),
                Ok(None) => out.push_str("undefined"),
                Err(_) => {
                    // A cycle or a too deep value: say so, and leave nothing pending.
                    let _ = ctx.catch();
                    out.push_str("[unprintable]");
                }
            }
        }
        if out.len() > MAX_LOG {
            let mut cut = MAX_LOG;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}
