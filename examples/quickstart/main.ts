// The quickstart service: `npm start` (PORT defaults to 3000).
import { Microservice } from "nebula-native";
import { ApiKeyPlugin, LogPlugin } from "./plugins.js";
import "./hello.js";
import "./users.js";

const engine = new Microservice({ name: "quickstart", version: "1.0.0" })
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
