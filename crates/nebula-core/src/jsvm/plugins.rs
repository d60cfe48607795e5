//! Plugin files (`pluginsDir`) and their on/off switch.
//!
//! A plugin file is a CommonJS module whose `module.exports` is
//! ```js
//! module.exports = {
//!   id: "audit",                 // unique, required
//!   name: "Audit", version: "1.0.0", description: "logs writes",
//!   hooks: ["onRequest", "user.created"],   // names of functions below
//!   config: { enabled: true, priority: -10, level: "info" },
//!   onRequest(e, config) { log.info("audit", e.request.path); return e.next(); },
//!   "user.created"(e, config) { ... },
//! };
//! ```
//! - `hooks` lists the exported functions to register: `onRequest`,
//!   `onBootstrap` and `onTerminate` join those chains (at `config.priority`,
//!   default 0); any other name is a custom event, as `app.on(name, fn)`.
//! - Each hook function is called with `this` = the exports and
//!   `(e, config)`: the plugin's `config` object is its own settings.
//! - `config.enabled` (default true) is the initial state; the owner flips it
//!   at run time with [`Jsvm::set_plugin_enabled`](super::Jsvm::set_plugin_enabled),
//!   which holds across reloads. A disabled plugin's hooks are skipped (the
//!   chain goes on as if it had called `e.next()`); registrations made by the
//!   file's top-level code (`routerAdd`, …) are not gated.
//! - A plugin file may `require("./x")` files of the plugins folder only.
use std::collections::HashMap;

use parking_lot::Mutex;

/// Run-time overrides of `config.enabled`, by plugin id (kept across reloads).
#[derive(Default)]
pub struct PluginStates {
    overrides: Mutex<HashMap<String, bool>>,
}

impl PluginStates {
    /// The override for `id`, if the owner set one.
    pub fn enabled(&self, id: &str) -> Option<bool> {
        self.overrides.lock().get(id).copied()
    }

    pub fn set(&self, id: &str, enabled: bool) {
        self.overrides.lock().insert(id.to_owned(), enabled);
    }
}
