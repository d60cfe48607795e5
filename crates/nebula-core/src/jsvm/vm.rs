//! One QuickJS runtime and its context: create under its limits → prelude →
//! load the files; then slices (a call into the prelude, or a job drain) under
//! the interrupt deadline; and a teardown in an order QuickJS accepts.
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{CaughtError, Context, Ctx, Function, Object, Persistent, Runtime, Value};

use super::errors::{parse_location, Failure, LoadError};
use super::gate::{Gate, GatedAlloc};
use super::globals::{self, PRELUDE_NAME, WRAP_HEAD_LEN};
use super::host::Host;

const PRELUDE: &str = include_str!("prelude.js");
/// Jobs run between two looks at the clock while draining.
const DRAIN_CHECK: usize = 64;

/// Limits of one runtime.
#[derive(Debug, Clone, Copy)]
pub struct VmLimits {
    pub memory: usize,
    pub stack: usize,
    /// Deadline of loading one file.
    pub load: Duration,
}

/// A slice ended with an exception that escaped the prelude (or a drain that
/// ran out of time): the runtime must be replaced.
#[derive(Debug, Clone)]
pub struct Runaway {
    pub failure: Failure,
    pub message: String,
}

pub struct Vm {
    /// The prelude's entry points (`dispatch`, `fire`, …): held here, never
    /// on the global object, so hook code cannot call them (e.g. to answer
    /// another request by its id). Dropped before the context.
    api: Option<Persistent<Object<'static>>>,
    ctx: Option<Context>,
    rt: Runtime,
    pub host: Rc<Host>,
    /// The slice's deadline, for the interrupt handler and the allocator.
    gate: Rc<Gate>,
    memory_limit: usize,
    /// Bytes in use right after loading (the files' own share).
    baseline: usize,
    /// The registrations of the loaded files (JSON), equal in every runtime.
    pub manifest: String,
}

impl Vm {
    /// Creates the runtime under its limits (memory and stack are set
    /// before anything is evaluated), loads the prelude and the files, each
    /// slice bracketed by `watch(true)`/`watch(false)` for the watchdog.
    pub fn build(host: Rc<Host>, limits: VmLimits, watch: &dyn Fn(bool)) -> Result<Vm, LoadError> {
        let internal = |e: rquickjs::Error| LoadError::new("<jsvm>", e.to_string());
        let gate = host.gate.clone();
        let rt = Runtime::new_with_alloc(GatedAlloc::new(gate.clone())).map_err(internal)?;
        rt.set_max_stack_size(limits.stack);
        // Every allocation counts, ArrayBuffer and string contents included
        // (QuickJS checks the limit before it calls the allocator).
        rt.set_memory_limit(limits.memory);
        rt.set_gc_threshold(limits.memory / 4);
        let g = gate.clone();
        rt.set_interrupt_handler(Some(Box::new(move || g.interrupt())));
        let ctx = Context::full(&rt).map_err(internal)?;
        let mut vm = Vm {
            api: None,
            ctx: Some(ctx),
            rt,
            host,
            gate,
            memory_limit: limits.memory,
            baseline: 0,
            manifest: String::new(),
        };
        vm.load(limits, watch)?;
        vm.rt.run_gc();
        vm.baseline = vm.memory_used();
        if vm.baseline > limits.memory / 2 {
            return Err(LoadError::new(
                "<jsvm>",
                format!(
                    "the hook files use {:.1} MB once loaded, more than half of memoryLimitMb ({} MB): raise memoryLimitMb or load less at the top level",
                    vm.baseline as f64 / (1 << 20) as f64,
                    limits.memory >> 20
                ),
            ));
        }
        Ok(vm)
    }

    fn with<R>(&self, f: impl FnOnce(Ctx<'_>) -> R) -> Option<R> {
        self.ctx.as_ref().map(|c| c.with(f))
    }

    fn load(&mut self, limits: VmLimits, watch: &dyn Fn(bool)) -> Result<(), LoadError> {
        let host = self.host.clone();
        self.arm(limits.load);
        watch(true);
        let prelude = self.with(|ctx| -> Result<_, LoadError> {
            globals::install(&ctx, &host)
                .map_err(|e| LoadError::new(PRELUDE_NAME, e.to_string()))?;
            let mut o = EvalOptions::default();
            o.filename = Some(PRELUDE_NAME.into());
            let api: Object = ctx
                .eval_with_options(PRELUDE, o)
                .map_err(|e| load_error(&ctx, e, PRELUDE_NAME, false))?;
            Ok(Persistent::save(&ctx, api))
        });
        watch(false);
        self.disarm();
        self.api = Some(prelude.unwrap_or_else(|| Err(LoadError::new("<jsvm>", "no context")))?);
        let files: Vec<(String, &str)> = self
            .host
            .snapshot
            .hooks
            .iter()
            .map(|f| (f.clone(), "loadHook"))
            .chain(
                self.host
                    .snapshot
                    .plugins
                    .iter()
                    .map(|f| (f.clone(), "loadPlugin")),
            )
            .collect();
        for (file, method) in files {
            self.arm(limits.load);
            watch(true);
            let r = self.with(|ctx| {
                let r = self
                    .api_fn(&ctx, method)
                    .and_then(|f| f.call::<_, ()>((file.as_str(),)));
                r.map_err(|e| self.load_error(&ctx, e, &file))
            });
            watch(false);
            self.disarm();
            r.unwrap_or_else(|| Err(LoadError::new("<jsvm>", "no context")))?;
            // Promises started at load (e.g. an async IIFE) settle now.
            self.arm(limits.load);
            watch(true);
            let drained = self.drain(Instant::now() + limits.load);
            watch(false);
            self.disarm();
            if let Err(r) = drained {
                return Err(LoadError::new(file, r.message));
            }
        }
        // The manifest serializes plugin configs (a `toJSON` is script code).
        self.arm(limits.load);
        watch(true);
        let manifest = self.with(|ctx| {
            let r = self
                .api_fn(&ctx, "endLoad")
                .and_then(|f| f.call::<_, ()>(()))
                .and_then(|_| self.api_fn(&ctx, "manifest"))
                .and_then(|f| f.call::<_, String>(()));
            r.map_err(|e| load_error(&ctx, e, "<manifest>", false))
        });
        watch(false);
        self.disarm();
        self.manifest = manifest.unwrap_or_else(|| Err(LoadError::new("<jsvm>", "no context")))?;
        Ok(())
    }

    fn load_error(&self, ctx: &Ctx<'_>, e: rquickjs::Error, file: &str) -> LoadError {
        if self.stopped() {
            return LoadError::new(file, "loading the file took too long (interrupted)");
        }
        load_error(ctx, e, file, true)
    }

    fn arm(&self, budget: Duration) {
        self.gate.arm(Instant::now() + budget);
    }

    fn disarm(&self) {
        self.gate.disarm();
    }

    /// The last slice was stopped by its deadline: interrupted, or a large
    /// allocation refused inside a native call.
    pub fn stopped(&self) -> bool {
        self.gate.fired() || self.gate.refused()
    }

    /// The last slice ran past its deadline inside native calls.
    pub fn refused(&self) -> bool {
        self.gate.refused()
    }

    /// Runs the prelude's `<method>(args)` as one slice ending at `deadline`, then
    /// drains the jobs it queued. Outcomes land in the host's outbox.
    pub fn slice<A>(&self, method: &str, args: A, deadline: Instant) -> Result<(), Runaway>
    where
        A: for<'js> rquickjs::function::IntoArgs<'js>,
    {
        self.gate.arm(deadline);
        let r = self
            .with(|ctx| {
                let r = self
                    .api_fn(&ctx, method)
                    .and_then(|f| f.call::<_, ()>(args));
                r.map_err(|e| self.runaway(&ctx, e))
            })
            .unwrap_or(Ok(()));
        let r = r.and_then(|_| self.drain(deadline));
        self.disarm();
        r
    }

    /// Runs pending jobs until none is left or `deadline` passes.
    fn drain(&self, deadline: Instant) -> Result<(), Runaway> {
        let mut n = 0usize;
        loop {
            match self.rt.execute_pending_job() {
                Ok(false) => return Ok(()),
                Ok(true) => {}
                Err(job) => {
                    return Err(job.0.with(|ctx| {
                        let e = ctx.catch();
                        self.classify(&ctx, e)
                    }))
                }
            }
            n += 1;
            if n.is_multiple_of(DRAIN_CHECK) && Instant::now() >= deadline {
                return Err(Runaway {
                    failure: Failure::Timeout,
                    message: "the promise jobs did not finish in time".into(),
                });
            }
        }
    }

    fn runaway(&self, ctx: &Ctx<'_>, e: rquickjs::Error) -> Runaway {
        match e {
            rquickjs::Error::Exception => {
                let v = ctx.catch();
                self.classify(ctx, v)
            }
            other => Runaway {
                failure: Failure::Thrown,
                message: other.to_string(),
            },
        }
    }

    fn classify<'js>(&self, _ctx: &Ctx<'js>, v: Value<'js>) -> Runaway {
        if self.stopped() {
            return Runaway {
                failure: Failure::Timeout,
                message: "the script ran past its deadline".into(),
            };
        }
        let t = describe(v);
        Runaway {
            failure: t.failure(),
            message: t.message(),
        }
    }

    /// Bytes allocated by the runtime.
    pub fn memory_used(&self) -> usize {
        self.rt.memory_usage().malloc_size.max(0) as usize
    }

    /// After a task: collect when 80 % of what the files leave free is in
    /// use; false if it still is (the runtime should be replaced).
    pub fn healthy(&self) -> bool {
        let free = self.memory_limit.saturating_sub(self.baseline);
        let high = self.baseline + free / 10 * 8;
        if self.memory_used() <= high {
            return true;
        }
        self.rt.run_gc();
        self.memory_used() <= high
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // Nothing may stay pending, then the context goes before the runtime.
        self.disarm();
        // Lift the limit so that teardown never fails an allocation.
        self.rt.set_memory_limit(0);
        self.with(|ctx| {
            let _ = ctx.catch();
        });
        self.api = None;
        self.ctx = None;
        self.rt.run_gc();
    }
}

impl Vm {
    /// `name` of the prelude's entry points.
    fn api_fn<'js>(&self, ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Function<'js>> {
        let api = self
            .api
            .clone()
            .ok_or_else(|| rquickjs::Error::new_from_js("undefined", "prelude"))?;
        api.restore(ctx)?.get(name)
    }
}

/// A thrown value as Rust sees it.
struct Thrown {
    /// `(name, message)` of an error object, or `("", text)` for another
    /// value; None for `null`.
    parts: Option<(String, String)>,
    stack: String,
}

impl Thrown {
    /// What the client and the log see (`Name: message`).
    fn message(&self) -> String {
        match &self.parts {
            None => "out of memory".into(),
            Some((name, msg)) if name.is_empty() => msg.clone(),
            Some((name, msg)) => format!("{name}: {msg}"),
        }
    }

    fn failure(&self) -> Failure {
        Failure::classify(self.parts.as_ref().map(|(n, m)| (n.as_str(), m.as_str())))
    }
}

/// The name, message and stack of a thrown value.
fn describe(v: Value<'_>) -> Thrown {
    if v.is_null() {
        return Thrown {
            parts: None,
            stack: String::new(),
        };
    }
    if let Some(e) = v
        .as_object()
        .and_then(|o| rquickjs::Exception::from_object(o.clone()))
    {
        let name: String = e
            .get::<_, rquickjs::prelude::Coerced<String>>("name")
            .map(|c| c.0)
            .unwrap_or_else(|_| "Error".into());
        return Thrown {
            parts: Some((name, e.message().unwrap_or_default())),
            stack: e.stack().unwrap_or_default(),
        };
    }
    let s = v
        .as_string()
        .and_then(|s| s.to_string().ok())
        .unwrap_or_else(|| format!("{:?}", v.type_of()));
    Thrown {
        parts: Some((String::new(), s)),
        stack: String::new(),
    }
}

/// A load error with the location of the first frame in a file of ours
/// (`file` itself when the stack has none).
fn load_error(ctx: &Ctx<'_>, e: rquickjs::Error, file: &str, wrapped: bool) -> LoadError {
    let (message, stack) = match CaughtError::from_error(ctx, e) {
        CaughtError::Exception(ex) => {
            let t = describe(ex.into_value());
            (t.message(), t.stack)
        }
        CaughtError::Value(v) => {
            let t = describe(v);
            (t.message(), t.stack)
        }
        CaughtError::Error(e) => (e.to_string(), String::new()),
    };
    let mut err = LoadError::new(file, message);
    if let Some((f, line, col)) = parse_location(&stack) {
        err.file = f;
        err.line = Some(line);
        err.col = Some(if wrapped && line == 1 {
            col.saturating_sub(WRAP_HEAD_LEN).max(1)
        } else {
            col
        });
    }
    err
}
