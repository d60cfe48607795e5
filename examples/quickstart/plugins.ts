import { PluginPriority, type HandlerMetadata, type Plugin } from "nebula-native";

/** Logs every handler call with its duration (LOGGING: outside business plugins). */
export class LogPlugin implements Plugin {
  name = "log";
  priority = PluginPriority.LOGGING;

  onHandlerLoad(handlers: HandlerMetadata[]) {
    for (const h of handlers) {
      h.wrap(async (next) => {
        const t = performance.now();
        try {
          return await next();
        } finally {
          console.log(`${String(h.methodName)} ${(performance.now() - t).toFixed(2)} ms`);
        }
      });
    }
  }
}

/** Refuses calls without an `x-api-key` header on routes marked `{ auth: true }`. */
export class ApiKeyPlugin implements Plugin {
  name = "api-key";
  priority = PluginPriority.SECURITY;

  constructor(private readonly key: string) {}

  onHandlerLoad(handlers: HandlerMetadata[]) {
    for (const h of handlers) {
      if (h.type !== "route" || !h.options.auth) continue;
      h.wrap(async (next, _instance, ctx) => {
        if (ctx.req.header("x-api-key") !== this.key) {
          return ctx.json({ error: "Unauthorized", message: "missing or wrong x-api-key" }, 401);
        }
        return next();
      });
    }
  }
}
