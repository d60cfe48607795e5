// The hooks example: `npm run hooks` (PORT defaults to 3000). Edit the files
// in ./hooks while it runs: the engine reloads them in process.
//
//   curl localhost:3000/api/hello/ann
//   curl -H 'x-key: k' localhost:3000/api/notes -d '{"text":"hi"}'
//   curl -H 'authorization: Bearer admin-token-0123456789' localhost:3000/admin/jsvm/stats
//   WebSocket ws://localhost:3000/ws: {"message_id":1,"message_type":"shout","data":{"text":"hi"}}
import { join } from "node:path";
import { HubPlugin, JsvmPlugin, Microservice, MetricsPlugin, RateLimitPlugin } from "nebula-native";

const engine = new Microservice({ name: "hooks", version: "1.0.0" })
  // Native plugins apply to hook routes as to any route.
  .plugin(new MetricsPlugin())
  .plugin(new RateLimitPlugin({ maxRequests: 1000, windowMs: 60_000 }))
  // The hub: scripts get onWsConnect / onWsMessage and the `hub` global.
  .plugin(new HubPlugin({ allowAnonymous: true }))
  .plugin(
    new JsvmPlugin({
      hooksDir: join(__dirname, "hooks"),
      pluginsDir: join(__dirname, "plugins"),
      watch: process.env.WATCH !== "0",
      poolSize: 2,
      timeoutMs: 1000,
      memoryLimitMb: 64,
      adminToken: process.env.ADMIN_TOKEN ?? "admin-token-0123456789",
    }),
  );

// Custom events both ways: scripts call events.emit("note", …); engine.jsvm.emit reaches app.on(…).
engine.jsvm!.on("note", (note) => console.log("a script saved a note:", note));
// "chat" messages that chat.pb.js passed on (e.next()).
engine.hub!.on("chat", (client, data: { text: string }) => ({ from: client.id, text: data.text }));

engine.start(Number(process.env.PORT ?? 3000)).then(
  (port) => {
    console.log(`hooks listening on http://localhost:${port}`);
    engine.jsvm!.emit("greeting", { from: "TypeScript" });
  },
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
