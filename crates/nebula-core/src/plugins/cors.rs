//! CORS: answers preflights in Rust and adds the `Access-Control-*` headers
//! to every answer for an allowed origin.
//!
//! - Preflight (`OPTIONS` + `Origin` + `Access-Control-Request-Method`): 204
//!   with `Allow-Origin/-Methods/-Headers/-Credentials/-Max-Age` when the
//!   origin is allowed, a bare 204 when it is not (the browser then refuses);
//!   the handler never runs.
//! - Other requests: `Access-Control-Allow-Origin` (+ `-Credentials`,
//!   `-Expose-Headers`) for an allowed origin, on every answer including
//!   errors from inner layers; `Vary: Origin` whenever the answer depends on
//!   the origin. A handler's own `Access-Control-Allow-Origin` is kept.
//! - `origins: "*"` sends `*`, except with credentials: then the origin is
//!   echoed (never `*` with credentials) and the `null` origin is refused.
mod config;

use std::sync::Arc;

use hyper::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use hyper::{HeaderMap, Method, StatusCode};

use self::config::{Config, Origins};
use super::PluginError;
use crate::kernel::{Flow, LayerCtx, LayerError, NativeLayer, NativePlugin, Reply};

const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// Creates the plugin from its plugin-level options (validated here too).
pub fn create(options: &serde_json::Value) -> Result<Arc<dyn NativePlugin>, PluginError> {
    let default = Arc::new(CorsLayer::new(config::parse(options)?));
    Ok(Arc::new(CorsPlugin {
        options: options.clone(),
        default,
    }))
}

/// Shared by the handlers: the layer for the plugin-level options, reused by
/// every handler whose merged options are the same.
struct CorsPlugin {
    options: serde_json::Value,
    default: Arc<CorsLayer>,
}

impl NativePlugin for CorsPlugin {
    fn layer(
        &self,
        options: &serde_json::Value,
    ) -> Result<Option<Arc<dyn NativeLayer>>, LayerError> {
        if *options == self.options {
            return Ok(Some(self.default.clone()));
        }
        Ok(Some(Arc::new(CorsLayer::new(config::parse(options)?))))
    }
}

/// One handler's CORS policy.
struct CorsLayer {
    cfg: Config,
    /// `origins: "*"` without credentials: `*` for everyone, no `Vary`.
    wildcard: bool,
}

impl CorsLayer {
    fn new(cfg: Config) -> Self {
        let wildcard = matches!(cfg.origins, Origins::Any) && !cfg.credentials;
        CorsLayer { cfg, wildcard }
    }

    /// The `Access-Control-Allow-Origin` value for this origin, if allowed.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        if self.wildcard {
            return Some(HeaderValue::from_static("*"));
        }
        let origin = origin?;
        let bytes = origin.as_bytes();
        let refused_null = matches!(self.cfg.origins, Origins::Any) && bytes == b"null";
        (!refused_null && self.cfg.origins.allows(bytes)).then(|| origin.clone())
    }

    fn preflight(&self, headers: &HeaderMap) -> Reply {
        let mut reply = Reply::empty(StatusCode::NO_CONTENT);
        let h = &mut reply.headers;
        h.insert(VARY, HeaderValue::from_static(PREFLIGHT_VARY));
        let Some(allow) = self.allow_origin(headers.get(ORIGIN)) else {
            return reply;
        };
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.cfg.credentials {
            h.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        h.insert(ACCESS_CONTROL_ALLOW_METHODS, self.cfg.allow_methods.clone());
        let allow_headers = match &self.cfg.allow_headers {
            // `allowedHeaders: []`: no request header beyond the safelisted ones.
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v.clone()),
            None => headers.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned(),
        };
        if let Some(v) = allow_headers {
            h.insert(ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        if let Some(v) = &self.cfg.max_age {
            h.insert(ACCESS_CONTROL_MAX_AGE, v.clone());
        }
        reply
    }
}

fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(ORIGIN)
        && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

impl NativeLayer for CorsLayer {
    fn name(&self) -> &'static str {
        "cors"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        if is_preflight(ctx.method, ctx.headers) {
            Flow::Respond(self.preflight(ctx.headers))
        } else {
            Flow::Continue
        }
    }

    fn after(&self, ctx: &LayerCtx<'_>, reply: &mut Reply) {
        if is_preflight(ctx.method, ctx.headers) {
            return; // answered (and fully dressed) by before()
        }
        let h = &mut reply.headers;
        if !self.wildcard {
            append_vary(h, "Origin");
        }
        if h.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
            return;
        }
        let Some(allow) = self.allow_origin(ctx.headers.get(ORIGIN)) else {
            return;
        };
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.cfg.credentials {
            h.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.cfg.expose_headers {
            h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
    }
}

/// Adds `token` to `Vary` unless it (or `*`) is already there: existing
/// values are kept, never replaced.
pub(crate) fn append_vary(headers: &mut HeaderMap, token: &'static str) {
    let present = headers.get_all(VARY).iter().any(|v| {
        v.as_bytes().split(|&b| b == b',').any(|t| {
            let t = t.trim_ascii();
            t == b"*" || t.eq_ignore_ascii_case(token.as_bytes())
        })
    });
    if !present {
        headers.append(VARY, HeaderValue::from_static(token));
    }
}

#[cfg(test)]
mod tests;
