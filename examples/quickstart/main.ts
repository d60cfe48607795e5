// The quickstart service: `npm start` (PORT defaults to 3000).
import { CorsPlugin, Microservice, MetricsPlugin, RateLimitPlugin } from "nebula-native";
import { ApiKeyPlugin, LogPlugin } from "./plugins.js";
import "./hello.js";
import "./users.js";

// Native plugins (Rust) and TypeScript plugins share one priority onion:
// metrics (50) → CORS, rate limit (100, native) → API key (100, TS) → log (200, TS).
const engine = new Microservice({ name: "quickstart", version: "1.0.0" })
  .plugin(new MetricsPlugin())
  .plugin(new CorsPlugin({ origins: ["http://localhost:5173"] }))
  .plugin(new RateLimitPlugin({ maxRequests: 100, windowMs: 60_000 }))
  .plugin(new LogPlugin())
  .plugin(new ApiKeyPlugin(process.env.API_KEY ?? "secret"));

engine.start(Number(process.env.PORT ?? 3000)).then(
  (port) => console.log(`quickstart listening on http://localhost:${port}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await engine.stop();
    process.exit(0);
  });
}
