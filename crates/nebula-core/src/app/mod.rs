//! The composition root, at the top of the crate: an [`App`] owns the HTTP
//! service (its builder until `build`), the server, the hubs, the script
//! VMs and the gateways, wires them together, and starts and stops them in
//! a fixed order (see [`lifecycle`]). Nothing else of the crate imports it;
//! the binding holds one per `NativeEngine` and only converts values.
//!
//! The JavaScript side is reached through three [`WakeQueue`]s
//! (crate::support::wake_queue): requests ([`requests`]), hub events
//! ([`hub_events`]) and script events ([`script_events`]); the owner
//! supplies each one's waker.
//!
//! May import every other module (it is the top: nothing imports it) (the table in `tests/layers.rs`, the picture in ARCHITECTURE.md).
mod error;
pub mod hub_events;
pub mod lifecycle;
pub mod requests;
pub mod script_events;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::gateway::Gateway;
use crate::http::server::ServerHandle;
use crate::http::{JsRequest, ServerConfig, Service, ServiceBuilder};
use crate::hub::{Hub, HubConfig, HubMount};
use crate::jsvm::{Jsvm, JsvmAdmin, JsvmConfig, JsvmRoutes};
use crate::kernel::NativeLayer;
use crate::support::wake_queue::Waker;

pub use error::AppError;
pub use hub_events::{HubEvent, HubEventQueue};
pub use lifecycle::Starting;
pub use lifecycle::{KeepAlive, Running, EXIT_WAIT, HUB_CLOSE_WAIT};
pub use requests::{QueueDispatcher, RequestQueue};
pub use script_events::{ScriptEvent, ScriptEventQueue};

pub struct App {
    /// Routes, mounts and layers go here until `build`.
    builder: Option<ServiceBuilder>,
    service: Option<Arc<Service>>,
    requests: Option<Arc<RequestQueue>>,
    running: Arc<Running>,
}

impl App {
    pub fn new(config: ServerConfig) -> App {
        App {
            builder: Some(ServiceBuilder::new(config)),
            service: None,
            requests: None,
            running: Arc::default(),
        }
    }

    /// What runs: its owner stops it (`stop`, `stop_now`), also after the
    /// `App` itself is gone.
    pub fn running(&self) -> &Arc<Running> {
        &self.running
    }

    /// The service being assembled: routes, plugins' endpoints, static files.
    pub fn builder(&mut self) -> Result<&mut ServiceBuilder, AppError> {
        self.builder.as_mut().ok_or(AppError::Built)
    }

    /// The built service.
    pub fn service(&self) -> Result<&Arc<Service>, AppError> {
        self.service.as_ref().ok_or(AppError::NotBuilt)
    }

    /// Mounts a hub on the app's server; its events wait in the returned
    /// queue, whose owner `waker` wakes. Script VMs attached later see it.
    pub fn attach_hub(
        &mut self,
        config: HubConfig,
        waker: impl Waker,
    ) -> Result<(Arc<Hub>, Arc<HubEventQueue>), AppError> {
        let builder = self.builder()?;
        let hub = Hub::new(config);
        let events = Arc::new(HubEventQueue::new(waker));
        hub.set_events(events.clone());
        builder.mount(Arc::new(HubMount(hub.clone())));
        self.running.hubs.lock().push(hub.clone());
        Ok((hub, events))
    }

    /// Starts a script VM (generation 1), puts its hook routes on the
    /// service inside `layers` (outermost first) and mounts its admin
    /// endpoints. Its scripts see the first hub attached (before this), and
    /// editors the hook API from `types.d.ts`, written into the hooks folder.
    pub fn attach_jsvm(
        &mut self,
        config: JsvmConfig,
        admin_token: Option<String>,
        layers: Vec<Arc<dyn NativeLayer>>,
        waker: impl Waker,
    ) -> Result<(Arc<Jsvm>, Arc<ScriptEventQueue>), AppError> {
        self.builder()?;
        // A read-only folder only loses the editors' completion.
        if let Err(e) = crate::jsvm::write_types(&config.hooks_dir) {
            tracing::warn!(error = %e, dir = %config.hooks_dir.display(), "jsvm: could not write types.d.ts");
        }
        let events = Arc::new(ScriptEventQueue::new(waker));
        let hub = self.running.hubs.lock().first().cloned();
        let jsvm = Jsvm::start_with_hub(config, events.clone(), hub).map_err(AppError::Jsvm)?;
        let builder = self.builder()?;
        builder.dynamic(Arc::new(JsvmRoutes(jsvm.clone())), layers);
        builder.mount(Arc::new(JsvmAdmin::new(jsvm.clone(), admin_token)));
        self.running.jsvms.lock().push(jsvm.clone());
        Ok((jsvm, events))
    }

    /// Adds a gateway's routes (inside `layers`, outermost first); its
    /// workers start when the app listens and stop after the server.
    pub fn attach_gateway(
        &mut self,
        gateway: Arc<Gateway>,
        layers: Vec<Arc<dyn NativeLayer>>,
    ) -> Result<(), AppError> {
        self.builder()?
            .dynamic(Arc::new(gateway.dynamic_routes()), layers);
        self.running.gateways.lock().push(gateway);
        Ok(())
    }

    /// Freezes the routes. Requests for JavaScript wait in a queue whose
    /// owner `waker` wakes ([`App::take_requests`]).
    pub fn build(&mut self, waker: impl Waker) -> Result<(), AppError> {
        let builder = self.builder.take().ok_or(AppError::AlreadyBuilt)?;
        if let Err(e) = builder.check_mounts() {
            self.builder = Some(builder);
            return Err(AppError::Mounts(e.to_string()));
        }
        let requests = Arc::new(RequestQueue::new(waker));
        let service = builder.build(Arc::new(QueueDispatcher(requests.clone())));
        requests.serves(&service);
        self.requests = Some(requests);
        self.service = Some(service);
        Ok(())
    }

    /// The requests waiting for JavaScript (a batch: see [`RequestQueue::take`]).
    pub fn take_requests(&self) -> Vec<JsRequest> {
        self.requests.as_ref().map(|r| r.take()).unwrap_or_default()
    }

    /// Listens on `host:port` (0 = a free port), then starts the gateways
    /// and joins the hubs' clusters; resolves to the port. A gateway that
    /// cannot start stops everything started here. `keep_alive` is held
    /// while the server listens.
    pub fn listen(
        &self,
        host: String,
        port: u16,
        keep_alive: impl Send + 'static,
    ) -> Result<Starting, AppError> {
        let service = self.service()?.clone();
        Ok(self
            .running
            .start(service, host, port, Box::new(keep_alive)))
    }

    /// [`App::listen`] with a server already listening (the loop server,
    /// bound by its owner on the thread that turns it).
    pub fn listen_on(
        &self,
        server: ServerHandle,
        keep_alive: impl Send + 'static,
    ) -> Result<Starting, AppError> {
        // Listening needs a built service (the server already serves it).
        self.service()?;
        Ok(self.running.start_on(server, Box::new(keep_alive)))
    }

    /// Stops everything: hubs → server → gateways → script VMs (see [`lifecycle`]).
    pub fn stop(&self) -> impl Future<Output = ()> + Send + 'static {
        self.running.stop()
    }

    /// [`App::stop`], with the requests in flight given at most `grace`.
    pub fn stop_within(&self, grace: Duration) -> impl Future<Output = ()> + Send + 'static {
        self.running.stop_within(grace)
    }
}

#[cfg(test)]
mod tests;
