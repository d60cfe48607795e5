//! The VM's hook routes as the HTTP service sees them: dynamic routes looked
//! up in the current generation and answered by the pool (never by Node).
use std::sync::Arc;

use hyper::Method;

use super::{HookRequest, HookRoute, Jsvm};
use crate::http::{DynCall, DynMatch, DynRequest, DynamicRoutes};
use crate::kernel::{BoxFuture, Reply};

/// [`DynamicRoutes`] over a [`Jsvm`].
pub struct JsvmRoutes(pub Arc<Jsvm>);

struct Call {
    jsvm: Arc<Jsvm>,
    route: HookRoute,
}

impl DynCall for Call {
    fn call(self: Box<Self>, req: DynRequest) -> BoxFuture<Reply> {
        Box::pin(async move {
            let request = HookRequest {
                method: req.method,
                target: req.target,
                headers: req.headers,
                body: req.body,
                locals: req.locals,
                peer: req.peer,
            };
            self.jsvm.call(&self.route, request).await
        })
    }
}

impl DynamicRoutes for JsvmRoutes {
    fn lookup(&self, method: &Method, path: &str) -> Option<DynMatch> {
        let route = self.0.lookup(method, path)?;
        Some(DynMatch {
            pattern: route.pattern.clone(),
            params: route.params.clone(),
            call: Box::new(Call {
                jsvm: self.0.clone(),
                route,
            }),
        })
    }

    fn allowed(&self, path: &str) -> Vec<Method> {
        self.0.current_generation().table.allowed(path)
    }
}
