// A plugin file: metadata, config, and the hook functions `hooks` names.
// Enabled or disabled by its config and at run time
// (engine.jsvm.enablePlugin / disablePlugin, or POST /admin/plugins/audit/disable).
module.exports = {
  id: "audit",
  name: "Audit log",
  version: "1.0.0",
  description: "Logs every hook request's method and path",
  hooks: ["onRequest"],
  config: { enabled: true, priority: -10, level: "info" },
  onRequest(e, config) {
    log[config.level]("audit", e.request.method, e.request.path);
    return e.next();
  },
};
