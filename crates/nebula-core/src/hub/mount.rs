//! The hub as the HTTP service sees it: the WebSocket path, the admin API
//! (only when an admin token is configured) and its `/metrics` series.
use std::sync::Arc;

use super::admin;
use super::state::Hub;
use super::upgrade::upgrade;
use crate::http::{Mount, MountRequest};
use crate::kernel::Reply;

pub struct HubMount(pub Arc<Hub>);

impl Mount for HubMount {
    fn claims(&self, path: &str) -> bool {
        let config = self.0.config();
        path == config.path
            || (config.admin_token.is_some() && admin::claims(&config.api_prefix, path))
    }

    fn paths(&self) -> Vec<String> {
        let config = self.0.config();
        let mut paths = vec![config.path.clone()];
        if config.admin_token.is_some() {
            paths.extend(admin::paths(&config.api_prefix));
        }
        paths
    }

    fn handle(&self, req: MountRequest) -> Reply {
        let config = self.0.config();
        if req.parts.uri.path() == config.path {
            return upgrade(&self.0, req);
        }
        match &config.admin_token {
            Some(token) => admin::handle(&self.0, token, req),
            None => Reply::error(hyper::StatusCode::NOT_FOUND, "no such path"),
        }
    }

    fn metrics(&self, out: &mut String) {
        self.0.render_metrics(out);
    }
}
