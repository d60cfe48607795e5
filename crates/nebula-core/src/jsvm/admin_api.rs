//! The VM's admin endpoints, guarded by `Authorization: Bearer <adminToken>`
//! (off without a token): `GET /admin/hooks`, `GET /admin/plugins`,
//! `POST /admin/plugins/:id/enable|disable`, `GET /admin/jsvm/stats`; and
//! the `nebula_jsvm_` series in `/metrics`. (Reloading is `engine.jsvm.reload()`
//! or a file change: a build takes a while and must not hold a server thread.)
use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::json;

use super::Jsvm;
use crate::auth::admin_token;
use crate::http::{Mount, MountRequest};
use crate::kernel::Reply;

pub struct JsvmAdmin {
    jsvm: Arc<Jsvm>,
    token: Option<String>,
}

impl JsvmAdmin {
    pub fn new(jsvm: Arc<Jsvm>, token: Option<String>) -> JsvmAdmin {
        JsvmAdmin { jsvm, token }
    }
}

fn ok(v: serde_json::Value) -> Reply {
    Reply::json(StatusCode::OK, v.to_string())
}

impl Mount for JsvmAdmin {
    fn claims(&self, path: &str) -> bool {
        self.token.is_some()
            && (path == "/admin/hooks"
                || path == "/admin/jsvm/stats"
                || path == "/admin/plugins"
                || path.starts_with("/admin/plugins/"))
    }

    fn paths(&self) -> Vec<String> {
        if self.token.is_none() {
            return Vec::new();
        }
        [
            "/admin/hooks",
            "/admin/jsvm/stats",
            "/admin/plugins",
            "/admin/plugins/:id/:action",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect()
    }

    fn handle(&self, req: MountRequest) -> Reply {
        let Some(token) = &self.token else {
            return Reply::error(StatusCode::NOT_FOUND, "no such path");
        };
        if !admin_token::authorized(&req.parts.headers, token) {
            return admin_token::unauthorized();
        }
        let path = req.parts.uri.path();
        let method = &req.parts.method;
        match (method, path) {
            (&Method::GET, "/admin/hooks") => ok(self.jsvm.hooks()),
            (&Method::GET, "/admin/plugins") => ok(self.jsvm.plugins()),
            (&Method::GET, "/admin/jsvm/stats") => ok(self.jsvm.stats()),
            (&Method::POST, p) if p.starts_with("/admin/plugins/") => {
                let rest = &p["/admin/plugins/".len()..];
                let enabled = match rest.rsplit_once('/') {
                    Some((id, "enable")) => Some((id, true)),
                    Some((id, "disable")) => Some((id, false)),
                    _ => None,
                };
                match enabled {
                    Some((id, on)) if self.jsvm.set_plugin_enabled(id, on) => {
                        ok(json!({ "id": id, "enabled": on }))
                    }
                    Some((id, _)) => {
                        Reply::error(StatusCode::NOT_FOUND, &format!("no plugin {id:?}"))
                    }
                    None => Reply::error(
                        StatusCode::NOT_FOUND,
                        "use POST /admin/plugins/:id/enable or /disable",
                    ),
                }
            }
            _ => Reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{method} is not allowed on {path}"),
            ),
        }
    }

    fn metrics(&self, out: &mut String) {
        self.jsvm.render_metrics(out);
    }
}
