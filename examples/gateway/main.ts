// The gateway example: `npm run gateway` (PORT defaults to 3000).
//
// Two services in other languages run as supervised workers, each instance on
// a Unix socket of its own; the engine forwards /api/py/* to Python and
// /api/node/* to Node (prefix stripped), in Rust, behind a native rate limit.
// A TypeScript route sits beside them. GET /services shows the workers.
//   curl localhost:3000/api/py/hello     curl localhost:3000/api/node/items
//   kill -9 <a python pid>               (restarted; the other instance serves meanwhile)
import { join } from "node:path";
import { Microservice, Module, RateLimitPlugin, Route, RoutePlugin, ServicesPlugin } from "nebula-native";

const workers = join(__dirname, "workers");
const services = new ServicesPlugin({
  services: [
    { name: "py", command: ["python3", join(workers, "app.py")], instances: 2, routes: ["/api/py/*"], healthPath: "/health", timeoutMs: 5000 },
    { name: "node", command: [process.execPath, join(workers, "app.js")], routes: ["/api/node/*"], stripPrefix: true },
  ],
});

@Module("gateway")
class Status {
  @Route({ path: "/services" })
  list() {
    return services.status();
  }
}
void Status;

const engine = new Microservice({ name: "gateway", version: "1.0.0" })
  .plugin(new RoutePlugin())
  .plugin(new RateLimitPlugin({ maxRequests: 1000, windowMs: 1000 }))
  .plugin(services);

engine.start(Number(process.env.PORT ?? 3000)).then(
  (port) => console.log(`gateway listening on http://localhost:${port}`),
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
