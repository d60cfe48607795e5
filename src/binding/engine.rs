//! `NativeEngine`: the napi face of one [`App`] (service, server, hubs,
//! gateways, script VMs). The app owns the wiring and the start/stop order;
//! this file converts values and errors.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

use super::dispatch::PackedBatch;
pub(super) use super::dispatch::{flat_headers, header_pairs};
use super::error::{to_js, to_js_in};

use nebula_core::app::{App, AppError};
use nebula_core::http::static_files::{CachePolicy, StaticFiles, StaticMount};
use nebula_core::http::validate::RouteValidator;
use nebula_core::http::{AppInfo, ServerConfig, Service, ServiceBuilder};

/// Never called: while it exists, Node's event loop stays alive (the server is listening).
type KeepAlive = ThreadsafeFunction<(), (), (), Status, false>;

#[napi(object)]
pub struct EngineConfig {
    pub body_limit: Option<u32>,
    pub handler_timeout_ms: Option<u32>,
    pub header_timeout_ms: Option<u32>,
    pub body_timeout_ms: Option<u32>,
    pub max_connections: Option<u32>,
    pub shutdown_timeout_ms: Option<u32>,
    /// 'auto' (default), 'loop' or 'threads' (see `runtime::loop_mode`).
    pub http_mode: Option<String>,
}

#[napi(object)]
pub struct JsStaticMount {
    pub prefix: String,
    pub path: String,
    pub cache: Option<serde_json::Value>,
}

#[napi(object)]
pub struct InjectResult {
    pub status: u32,
    pub headers: Vec<String>,
    pub body: Buffer,
}

#[napi(object)]
pub struct EngineStats {
    pub requests: f64,
    pub js_calls: f64,
    pub in_flight: f64,
}

#[napi]
pub struct NativeEngine {
    /// Service, server, hubs, gateways and script VMs: stopped by `close()`
    /// or when the environment that made the engine exits.
    pub(super) app: App,
    pub(super) natives: super::layers::Natives,
    /// HTTP on Node's event loop (loop mode) rather than the runtime's threads.
    loop_mode: bool,
}

pub(super) fn invalid(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

/// The app's refusals, as JS errors: calls in the wrong order and clashing
/// mounts are `InvalidArg`, a port in use or workers that cannot start
/// `GenericFailure` (see `AppError`'s `Classify`).
pub(super) fn app_error(e: AppError) -> Error {
    to_js(e)
}

fn ms(v: Option<u32>, default: Duration) -> Duration {
    v.map_or(default, |n| Duration::from_millis(u64::from(n)))
}

#[napi]
impl NativeEngine {
    #[napi(constructor)]
    pub fn new(env: &Env, config: EngineConfig) -> Result<Self> {
        let d = ServerConfig::default();
        let loop_mode = super::runtime::loop_mode(config.http_mode.as_deref()).map_err(invalid)?;
        let config = ServerConfig {
            body_limit: config.body_limit.map_or(d.body_limit, |n| n as usize),
            handler_timeout: ms(config.handler_timeout_ms, d.handler_timeout),
            header_timeout: ms(config.header_timeout_ms, d.header_timeout),
            body_timeout: ms(config.body_timeout_ms, d.body_timeout),
            max_connections: config
                .max_connections
                .map_or(d.max_connections, |n| n as usize),
            max_headers: d.max_headers,
            shutdown_timeout: ms(config.shutdown_timeout_ms, d.shutdown_timeout),
        };
        let app = App::new(config);
        super::teardown::belongs_to(env, app.running())?;
        Ok(NativeEngine {
            app,
            natives: Default::default(),
            loop_mode,
        })
    }

    pub(super) fn builder(&mut self) -> Result<&mut ServiceBuilder> {
        self.app.builder().map_err(app_error)
    }

    pub(super) fn service(&self) -> Result<Arc<Service>> {
        self.app.service().cloned().map_err(app_error)
    }

    #[napi]
    pub fn add_route(
        &mut self,
        methods: Vec<String>,
        path: String,
        id: u32,
        layers: Option<Vec<u32>>,
        validate: Option<String>,
    ) -> Result<()> {
        let methods = methods
            .iter()
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| invalid(format!("invalid HTTP method {m:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let layers = self.natives.resolve(&layers.unwrap_or_default())?;
        // Compiled before the route is added: a schema that does not compile adds nothing.
        let validator = match validate {
            Some(text) => {
                let route = || {
                    format!(
                        "route {} {path}",
                        methods
                            .iter()
                            .map(Method::as_str)
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                };
                let schemas: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| invalid(format!("{}: validate is not JSON: {e}", route())))?;
                RouteValidator::compile(&schemas)
                    .map_err(|e| invalid(format!("{}: {e}", route())))?
            }
            None => None,
        };
        let builder = self.builder()?;
        builder
            .add_route_with_layers(&methods, &path, id as usize, layers)
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(v) = validator {
            builder.validate_route(id as usize, v);
        }
        Ok(())
    }

    #[napi]
    pub fn set_info(&mut self, name: String, version: String, prefix: String) -> Result<()> {
        self.builder()?.info(AppInfo {
            name,
            version,
            prefix,
        });
        Ok(())
    }

    #[napi]
    pub fn add_static(&mut self, mounts: Vec<JsStaticMount>) -> Result<()> {
        let mounts = mounts
            .into_iter()
            .map(|m| {
                let cache = CachePolicy::from_json(m.cache.as_ref())
                    .map_err(to_js_in(&format!("static {}: ", m.path)))?;
                Ok(StaticMount {
                    prefix: m.prefix,
                    root: PathBuf::from(m.path),
                    cache,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let statics = StaticFiles::new(mounts).map_err(to_js_in("static: "))?;
        self.builder()?.statics(statics);
        Ok(())
    }

    /// Freezes the routes. `wake` is called (without arguments) when requests
    /// wait; it takes them with `takeBatch()`.
    #[napi]
    pub fn build(&mut self, env: &Env, wake: Function<(), ()>) -> Result<()> {
        #[cfg(unix)]
        if self.loop_mode {
            let drain = std::sync::Arc::new(super::uv_loop::LoopDrain::new(env, wake)?);
            return self
                .app
                .build(super::wake::LoopWaker(drain))
                .map_err(app_error);
        }
        let _ = env;
        let waker = super::wake::waker(wake)?;
        self.app.build(waker).map_err(app_error)
    }

    /// The waiting requests, packed (see [`PackedBatch`]): `[meta, text, extras]`.
    #[napi(ts_return_type = "[Uint32Array, string, Array<Buffer | string[]>]")]
    pub fn take_batch<'env>(&self, env: &'env Env) -> Result<Array<'env>> {
        let packed = PackedBatch::new(self.app.take_requests());
        let mut out = env.create_array(3)?;
        out.set(0, Uint32Array::new(packed.meta))?;
        out.set(1, packed.text)?;
        out.set(2, packed.extras)?;
        Ok(out)
    }

    /// Handlers' answers, packed by `lib/answers.js` (see
    /// [`answers`](super::answers)): one call, and one wake-up of the server,
    /// for every answer ready at once. An answer that cannot be read becomes
    /// a 500 saying why. Returns how many were delivered (an answer nobody
    /// waits for any more, after a timeout, is not).
    #[napi(ts_args_type = "meta: Uint32Array, text: string, extras: Array<Buffer | string[]>")]
    pub fn respond_batch(&self, meta: Uint32Array, text: String, extras: Array) -> Result<u32> {
        let service = self.service()?;
        let mut delivered = 0;
        let answers = super::answers::unpack(&meta, text, &extras);
        // Loop mode: the wakes of these answers are taken by the turn below.
        nebula_core::http::h1::hushed(|| {
            for (id, answer) in answers {
                if service.complete(id, answer) {
                    delivered += 1;
                }
            }
        });
        // Loop mode: the answers are written now, not at the next loop iteration.
        #[cfg(unix)]
        if self.loop_mode && delivered > 0 {
            super::uv_loop::turn_all();
        }
        Ok(delivered)
    }

    /// Answers request `id` with a body written later, through the sink
    /// returned (a streamed action); None when nobody waits for `id` any more.
    #[napi]
    pub fn open_stream(
        &self,
        id: u32,
        status: u32,
        headers: Vec<String>,
    ) -> Result<Option<super::stream::BodySink>> {
        let service = self.service()?;
        let (sink, body) = super::stream::channel();
        let answer = nebula_core::http::JsResponse {
            status: u16::try_from(status).unwrap_or(500),
            headers: header_pairs(headers),
            body: Bytes::new(),
            stream: Some(body),
        };
        Ok(service.complete(id, answer).then_some(sink))
    }

    /// Runs one request through the same router, limits and handlers as the server, without a socket.
    #[napi(ts_return_type = "Promise<InjectResult>")]
    pub fn inject<'env>(
        &self,
        env: &'env Env,
        method: String,
        target: String,
        headers: Vec<String>,
        body: Option<Buffer>,
    ) -> Result<PromiseRaw<'env, InjectResult>> {
        let service = self.service()?;
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| invalid(format!("invalid HTTP method {method:?}")))?;
        let mut req = Request::builder().method(method).uri(target.as_str());
        for (k, v) in header_pairs(headers) {
            req = req.header(k.as_ref(), v.as_ref());
        }
        let body = body.map_or_else(Bytes::new, |b| Bytes::copy_from_slice(&b));
        let req = req
            .body(Full::new(body))
            .map_err(|e| invalid(format!("invalid request {target:?}: {e}")))?;
        env.spawn_future(async move {
            let res = service.handle(req).await;
            let status = u32::from(res.status().as_u16());
            let headers = flat_headers(res.headers());
            let bytes = res
                .into_body()
                .collect()
                .await
                .map_err(|e| {
                    Error::new(
                        Status::GenericFailure,
                        format!("reading the response failed: {e}"),
                    )
                })?
                .to_bytes();
            Ok(InjectResult {
                status,
                headers,
                body: Buffer::from(bytes.to_vec()),
            })
        })
    }

    /// Listens on `host:port` (0 = a free port); resolves to the port.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn listen<'env>(
        &self,
        env: &'env Env,
        host: String,
        port: u32,
        keep_alive: Function<(), ()>,
    ) -> Result<PromiseRaw<'env, u32>> {
        let port = u16::try_from(port).map_err(|_| invalid(format!("invalid port {port}")))?;
        let keep_alive: KeepAlive = keep_alive
            .build_threadsafe_function()
            .callee_handled::<false>()
            .build()?;
        let start = if self.loop_mode {
            self.listen_on_loop(env, &host, port, keep_alive)?
        } else {
            self.app.listen(host, port, keep_alive).map_err(app_error)?
        };
        env.spawn_future(async move { start.await.map(u32::from).map_err(app_error) })
    }

    /// Loop mode: binds here, on Node's thread, and watches the server on
    /// this environment's event loop; the app then starts the rest.
    #[cfg(unix)]
    fn listen_on_loop(
        &self,
        env: &Env,
        host: &str,
        port: u16,
        keep_alive: KeepAlive,
    ) -> Result<nebula_core::app::Starting> {
        let service = self.service()?;
        let rt = super::runtime::handle().ok_or_else(|| {
            Error::new(
                Status::GenericFailure,
                "loop mode: the tokio runtime is not running",
            )
        })?;
        let (server, handle) = nebula_core::http::h1::LoopServer::bind(service, host, port, rt)
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        super::uv_loop::watch(env, server)?;
        self.app.listen_on(handle, keep_alive).map_err(app_error)
    }

    #[cfg(not(unix))]
    fn listen_on_loop(
        &self,
        _env: &Env,
        host: &str,
        port: u16,
        keep_alive: KeepAlive,
    ) -> Result<nebula_core::app::Starting> {
        self.app
            .listen(host.to_owned(), port, keep_alive)
            .map_err(app_error)
    }

    /// Stops listening after in-flight requests finish: at most `grace_ms`
    /// when given (and never more than the shutdown timeout).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(
        &self,
        env: &'env Env,
        grace_ms: Option<u32>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let grace = grace_ms.map_or(std::time::Duration::MAX, |ms| {
            std::time::Duration::from_millis(u64::from(ms))
        });
        let stop = self.app.stop_within(grace);
        env.spawn_future(async move {
            stop.await;
            Ok(())
        })
    }

    #[napi]
    pub fn stats(&self) -> EngineStats {
        let s = self.app.service().map(|s| s.stats()).unwrap_or(
            nebula_core::kernel::stats::StatsSnapshot {
                requests: 0,
                js_calls: 0,
                in_flight: 0,
            },
        );
        EngineStats {
            requests: s.requests as f64,
            js_calls: s.js_calls as f64,
            in_flight: s.in_flight as f64,
        }
    }
}
