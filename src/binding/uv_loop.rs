//! Loop mode's tie to Node: the loop server's poll fd watched by a
//! `uv_poll` handle on the environment's own libuv loop, so requests are
//! read, answered (the JS handler included) and written on Node's thread,
//! with no hand-off to another thread.
//!
//! libuv's functions are Node's own: looked up in the running process
//! (`dlsym`), so the addon links against no libuv of its own.
use std::cell::RefCell;
use std::ffi::{c_int, c_void, CStr};

use napi::bindgen_prelude::*;

use nebula_core::http::h1::{LoopServer, Turn};

/// `UV_POLL` in `uv_handle_type`, `UV_READABLE` in `uv_poll_event`.
const UV_POLL: c_int = 8;
const UV_READABLE: c_int = 1;

type PollCb = extern "C" fn(*mut c_void, c_int, c_int);
type CloseCb = extern "C" fn(*mut c_void);

/// The libuv functions loop mode calls.
struct Uv {
    handle_size: extern "C" fn(c_int) -> usize,
    poll_init: extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
    poll_start: extern "C" fn(*mut c_void, c_int, PollCb) -> c_int,
    poll_stop: extern "C" fn(*mut c_void) -> c_int,
    close: extern "C" fn(*mut c_void, CloseCb),
}

fn symbol(name: &CStr) -> Result<*mut c_void> {
    // SAFETY: dlsym with a NUL-terminated name; RTLD_DEFAULT searches the process.
    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if f.is_null() {
        return Err(Error::new(
            Status::GenericFailure,
            format!("loop mode: libuv's {name:?} is not in this process (httpMode 'threads' works without it)"),
        ));
    }
    Ok(f)
}

fn uv() -> Result<&'static Uv> {
    static UV: std::sync::OnceLock<std::result::Result<Uv, String>> = std::sync::OnceLock::new();
    let found = UV.get_or_init(|| {
        let lookup = || -> Result<Uv> {
            // SAFETY: each symbol is libuv's, with the signature declared in uv.h.
            unsafe {
                Ok(Uv {
                    handle_size: std::mem::transmute::<*mut c_void, extern "C" fn(c_int) -> usize>(
                        symbol(c"uv_handle_size")?,
                    ),
                    poll_init: std::mem::transmute::<
                        *mut c_void,
                        extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
                    >(symbol(c"uv_poll_init")?),
                    poll_start: std::mem::transmute::<
                        *mut c_void,
                        extern "C" fn(*mut c_void, c_int, PollCb) -> c_int,
                    >(symbol(c"uv_poll_start")?),
                    poll_stop: std::mem::transmute::<
                        *mut c_void,
                        extern "C" fn(*mut c_void) -> c_int,
                    >(symbol(c"uv_poll_stop")?),
                    close: std::mem::transmute::<*mut c_void, extern "C" fn(*mut c_void, CloseCb)>(
                        symbol(c"uv_close")?,
                    ),
                })
            }
        };
        lookup().map_err(|e| e.reason.clone())
    });
    found
        .as_ref()
        .map_err(|reason| Error::new(Status::GenericFailure, reason.clone()))
}

/// One watched server; the handle's `data` points back at it.
struct Host {
    /// Room for a `uv_poll_t` (its size asked of libuv; u64 for alignment).
    handle: Box<[u64]>,
    server: LoopServer,
    closing: bool,
}

thread_local! {
    /// The hosts of the environment on this thread, by their handle's address.
    static HOSTS: RefCell<Vec<*mut Host>> = const { RefCell::new(Vec::new()) };
}

/// Watches `server`'s fd on `env`'s event loop until the server stops.
pub(super) fn watch(env: &Env, server: LoopServer) -> Result<()> {
    let uv = uv()?;
    let event_loop = env.get_uv_event_loop()?.cast::<c_void>();
    let words = (uv.handle_size)(UV_POLL).div_ceil(8).max(1);
    let fd = server.fd();
    let host = Box::into_raw(Box::new(Host {
        handle: vec![0u64; words].into_boxed_slice(),
        server,
        closing: false,
    }));
    // SAFETY: `host` is live until the close callback frees it; the handle
    // memory is as large as libuv says a uv_poll_t is.
    unsafe {
        let handle = (*host).handle.as_mut_ptr().cast::<c_void>();
        let status = (uv.poll_init)(event_loop, handle, fd);
        if status != 0 {
            drop(Box::from_raw(host));
            return Err(Error::new(
                Status::GenericFailure,
                format!("loop mode: uv_poll_init failed ({status})"),
            ));
        }
        // uv_handle_t's first field is `void* data`.
        *handle.cast::<*mut c_void>() = host.cast();
        let status = (uv.poll_start)(handle, UV_READABLE, on_readable);
        if status != 0 {
            (uv.close)(handle, on_closed);
            return Err(Error::new(
                Status::GenericFailure,
                format!("loop mode: uv_poll_start failed ({status})"),
            ));
        }
    }
    HOSTS.with(|hosts| hosts.borrow_mut().push(host));
    Ok(())
}

/// The host a handle belongs to (its `data`).
///
/// # Safety
/// `handle` is a handle [`watch`] started and not yet closed.
unsafe fn host_of(handle: *mut c_void) -> *mut Host {
    unsafe { *handle.cast::<*mut Host>() }
}

extern "C" fn on_readable(handle: *mut c_void, _status: c_int, _events: c_int) {
    // SAFETY: libuv calls this only for a started, unclosed handle of ours.
    let host = unsafe { host_of(handle) };
    turn_from_callback(host);
}

/// Turns one host; closes its handle once its server has stopped.
fn turn(host: *mut Host) {
    // SAFETY: hosts in HOSTS (or called back by libuv) are live, and only
    // this thread touches them.
    let h = unsafe { &mut *host };
    if h.closing {
        return;
    }
    let turned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.server.turn()));
    match turned {
        Ok(Turn::Open) => {}
        Ok(Turn::Closed) => close(host),
        Err(_) => {
            tracing::error!("loop server: a turn panicked; the server stops");
            h.server.close_now();
            close(host);
        }
    }
}

/// Stops watching; the close callback frees the host.
fn close(host: *mut Host) {
    HOSTS.with(|hosts| hosts.borrow_mut().retain(|h| *h != host));
    // SAFETY: as in `turn`.
    let h = unsafe { &mut *host };
    if h.closing {
        return;
    }
    h.closing = true;
    if let Ok(uv) = uv() {
        let handle = h.handle.as_mut_ptr().cast::<c_void>();
        (uv.poll_stop)(handle);
        (uv.close)(handle, on_closed);
    }
}

extern "C" fn on_closed(handle: *mut c_void) {
    // SAFETY: the handle's data is the host Box::into_raw made; libuv is done with the handle.
    let host = unsafe { Box::from_raw(host_of(handle)) };
    // Nothing may unwind into libuv (the server's drop closes its sockets).
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(host))).is_err() {
        tracing::error!("loop server: dropping a stopped server panicked");
    }
}

/// Turns the servers of this thread now: answers JavaScript just delivered
/// are written in this call instead of at the next loop iteration.
pub(super) fn turn_all() {
    let hosts = HOSTS.with(|hosts| hosts.borrow().clone());
    for host in hosts {
        turn(host);
    }
}

/// The environment is exiting: every server of this thread stops at once
/// (its loop will not turn again).
pub(super) fn close_all() {
    let hosts = HOSTS.with(|hosts| hosts.borrow().clone());
    for host in hosts {
        // SAFETY: as in `turn`.
        let h = unsafe { &mut *host };
        h.server.close_now();
        close(host);
    }
}

thread_local! {
    /// True while a loop server of this thread turns from its poll callback:
    /// a request queue woken then is drained right after the turn, in the
    /// same callback (no wake-up through the ThreadsafeFunction).
    static TURNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The drains asked for during the turn.
    static DRAINS: RefCell<Vec<std::sync::Arc<LoopDrain>>> = const { RefCell::new(Vec::new()) };
}

/// An engine's drain function (`lib/dispatch.js`), callable from a poll
/// callback on its environment's thread. Its reference and async context
/// live as long as the environment (one per engine).
pub(super) struct LoopDrain {
    env: napi::sys::napi_env,
    func: napi::sys::napi_ref,
    context: napi::sys::napi_async_context,
    thread: std::thread::ThreadId,
    /// The usual wake-up (a ThreadsafeFunction call), when the drain cannot be called here.
    pub(super) fallback: super::wake::JsWaker,
}

// SAFETY: the napi handles are only used on `thread` (checked before each use).
unsafe impl Send for LoopDrain {}
unsafe impl Sync for LoopDrain {}

impl LoopDrain {
    pub(super) fn new(env: &Env, drain: Function<(), ()>) -> Result<LoopDrain> {
        let raw = env.raw();
        let mut func = std::ptr::null_mut();
        let mut context = std::ptr::null_mut();
        let name = env.create_string("nebula.drain")?;
        // SAFETY: napi calls on the environment's own thread with live values.
        unsafe {
            napi::check_status!(napi::sys::napi_create_reference(
                raw,
                drain.raw(),
                1,
                &mut func
            ))?;
            napi::check_status!(napi::sys::napi_async_init(
                raw,
                std::ptr::null_mut(),
                name.raw(),
                &mut context
            ))?;
        }
        Ok(LoopDrain {
            env: raw,
            func,
            context,
            thread: std::thread::current().id(),
            fallback: super::wake::waker(drain)?,
        })
    }

    /// During a turn on its own thread: queues the drain for after the
    /// turn and returns true. Otherwise false (wake it the usual way).
    pub(super) fn defer(self: &std::sync::Arc<Self>) -> bool {
        if std::thread::current().id() != self.thread || !TURNING.with(std::cell::Cell::get) {
            return false;
        }
        DRAINS.with(|d| {
            let mut d = d.borrow_mut();
            if !d.iter().any(|x| std::sync::Arc::ptr_eq(x, self)) {
                d.push(self.clone());
            }
        });
        true
    }

    /// Calls the drain as a callback from native code (microtasks and
    /// `process.nextTick` run when it returns, as after any I/O callback).
    fn call(&self) {
        use napi::sys;
        // SAFETY: on the environment's thread (see `defer`), from a libuv
        // callback: a handle scope of our own around the call.
        unsafe {
            let mut scope = std::ptr::null_mut();
            if sys::napi_open_handle_scope(self.env, &mut scope) != sys::Status::napi_ok {
                self.wake_later();
                return;
            }
            let mut func = std::ptr::null_mut();
            let mut recv = std::ptr::null_mut();
            let mut result = std::ptr::null_mut();
            if sys::napi_get_reference_value(self.env, self.func, &mut func) == sys::Status::napi_ok
                && !func.is_null()
                // The receiver must be an object (napi_make_callback refuses undefined).
                && sys::napi_get_global(self.env, &mut recv) == sys::Status::napi_ok
            {
                let status = sys::napi_make_callback(
                    self.env,
                    self.context,
                    recv,
                    func,
                    0,
                    std::ptr::null(),
                    &mut result,
                );
                if status == sys::Status::napi_pending_exception {
                    let mut error = std::ptr::null_mut();
                    sys::napi_get_and_clear_last_exception(self.env, &mut error);
                    tracing::error!("loop mode: the request drain threw");
                } else if status != sys::Status::napi_ok {
                    tracing::error!(status, "loop mode: the request drain could not be called");
                    self.wake_later();
                }
            } else {
                self.wake_later();
            }
            sys::napi_close_handle_scope(self.env, scope);
        }
    }
}

impl LoopDrain {
    /// The requests must not wait without a drain on its way.
    fn wake_later(&self) {
        use nebula_core::support::wake_queue::Waker as _;
        if let Err(e) = self.fallback.wake() {
            tracing::error!(error = %e, "loop mode: could not wake the request drain");
        }
    }
}

/// Turns `host` from its poll callback, then runs the drains its turn asked for.
fn turn_from_callback(host: *mut Host) {
    TURNING.with(|t| t.set(true));
    turn(host);
    TURNING.with(|t| t.set(false));
    let drains = DRAINS.with(|d| std::mem::take(&mut *d.borrow_mut()));
    for drain in drains {
        drain.call();
    }
}
